"""`curate train`: fine-tune a base model with PEFT (LoRA) on a curate output, evaluate it per language, export it.

Modules: `config` (the YAML schema), `data` (shards, prompts, sampling, class weights), `model` (loading, device,
LoRA targets), `loop` (the training loop, checkpoints, resume), `evaluate` (per-language loss, chrF, BLEU),
`card` (the model card), `export` (merge, CTranslate2), `tiny` (tiny local models), `runner` (all of it, end to end).
Only `config` and `data` import without the `train` extra (torch, transformers, peft, sacrebleu).
"""

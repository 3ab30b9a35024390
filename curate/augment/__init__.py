"""Synthetic data: back-translation and round trips on CTranslate2, LLM paraphrasing, and validation of every row.
The library generates candidates; the steps (`curate.stages.backtranslate`, `roundtrip`, `paraphrase`) validate
them and return the result.

- `ct2`: convert a model to CTranslate2 once (cached), load it, batch by length.
- `translate`: a seq2seq model (Marian, NLLB, M2M100, mBART) with its tokenizer and language tokens, decoding on
  CTranslate2 or Transformers.
- `backtranslate`: the back-translation and round-trip candidates of the `backtranslate` and `roundtrip` steps.
- `llm`, `cache`, `prompts`, `paraphrase`: the LLM backends (local causal LM; OpenAI-compatible HTTP with
  concurrency, retries and an on-disk response cache), prompt templates, and the `paraphrase` step's candidates.
- `validate`: the checks every synthetic row passes (language, length ratio, copy, drift, round trip, duplicate).
- `synth`: row selection, synthetic ids and origins, and turning candidates into kept rows and rejects.

Models are found, loaded and built (the tiny ones of the tests and the quick start) by `curate.models`.

Heavy libraries (torch, transformers, ctranslate2, sacrebleu, fasttext) are imported inside functions, so
`import curate.stages` works without the `synth` extra.
"""

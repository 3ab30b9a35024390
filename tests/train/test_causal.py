"""LoRA on a tiny Qwen2 (causal LM with a prompt template), and a full fine-tune to compare with."""

import json

import pytest

from tests.train.conftest import needs_train, train_config

pytestmark = [needs_train, pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture(scope="module")
def trained(curated, tiny_qwen2, tmp_path_factory):
    from curate.train.runner import TrainOptions, run_training

    out = tmp_path_factory.mktemp("causal") / "run"
    config = train_config(tiny_qwen2, curated, out)
    return config, run_training(config, TrainOptions(merge=True))


def inputs(config, tokenizer):
    from curate.train.data import build_examples, cap_per_language, encode, read_split

    examples = cap_per_language(build_examples(read_split(config.data.dir, "validation"), config, evaluation=True), 4)
    return examples, encode(examples, tokenizer, "causal", 48, 48)


def test_prompt_is_masked_and_ends_with_eos(trained):
    from curate.models.hf import load_tokenizer
    from curate.train.data import IGNORE

    config, result = trained
    tokenizer = load_tokenizer(str(result.output))
    examples, encoded = inputs(config, tokenizer)
    assert examples.sources[0].startswith("To German: ") and examples.sources[0].endswith(" =>")
    ids, labels, n = encoded.input_ids[0], encoded.labels[0], encoded.prompt_lengths[0]
    assert labels[:n] == [IGNORE] * n and labels[n:] == ids[n:] and ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(ids[n:], skip_special_tokens=True) == examples.targets[0]


def test_loss_goes_down_and_adapter_reproduces_outputs(trained, tiny_qwen2):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from curate.models.hf import load_tokenizer
    from curate.train.evaluate import example_losses, generate
    from curate.train.model import load_model

    config, result = trained
    assert result.metrics["task"] == "causal" and result.metrics["train"]["steps"] == 30
    tokenizer = load_tokenizer(str(result.output))
    examples, encoded = inputs(config, tokenizer)
    base = load_model(str(tiny_qwen2), "causal", "cpu")
    s, c = example_losses(base, encoded, "causal", "cpu", None, tokenizer.pad_token_id, 16)
    tuned = result.metrics["eval"]["overall"]["loss"]
    assert tuned < s.sum() / c.sum() - 0.2

    model = PeftModel.from_pretrained(load_model(str(tiny_qwen2), "causal", "cpu"), str(result.output))
    s, c = example_losses(model, encoded, "causal", "cpu", None, tokenizer.pad_token_id, 16)
    assert s.sum() / c.sum() == pytest.approx(tuned, abs=1e-4)
    outputs = dict(zip(examples.sources, generate(model, tokenizer, encoded, "causal", "cpu", None, 16, 8)))
    recorded = [json.loads(line) for line in (result.output / "samples.jsonl").read_text().splitlines()]
    assert [outputs[r["input"]] for r in recorded] == [r["output"] for r in recorded]

    merged = AutoModelForCausalLM.from_pretrained(result.output / "merged").eval()
    ids = torch.tensor([encoded.input_ids[0]])
    with torch.no_grad():
        torch.testing.assert_close(
            model.eval()(input_ids=ids).logits, merged(input_ids=ids).logits, atol=1e-5, rtol=1e-5
        )
    assert generate(merged, tokenizer, encoded, "causal", "cpu", None, 16, 8) == list(
        generate(model, tokenizer, encoded, "causal", "cpu", None, 16, 8)
    )


def test_full_fine_tune(curated, tiny_qwen2, tmp_path):
    from transformers import AutoModelForCausalLM

    from curate.train.runner import TrainOptions, run_training

    config = train_config(
        tiny_qwen2,
        curated,
        tmp_path / "full",
        full=True,
        max_steps=10,
        learning_rate=0.003,
        freeze=["model.embed_tokens.*"],
        eval={"generate": False},
    )
    result = run_training(config, TrainOptions())
    m = result.metrics
    assert m["method"] == "full" and not (result.output / "adapter_config.json").exists()
    embed = 500 * 32  # frozen (and tied to the output layer)
    assert m["parameters"]["total"] - m["parameters"]["trainable"] == embed
    model = AutoModelForCausalLM.from_pretrained(result.output)
    assert sum(p.numel() for p in model.parameters()) == m["parameters"]["total"]
    assert m["eval"]["generated"] is False and m["eval"]["overall"]["chrf"] is None

"""The training config: defaults, errors with file and line, the shipped configs, a recipe's `train:` section."""

from pathlib import Path

import pytest
import yaml

from curate.train.config import DEFAULT_CONFIG, TinyModel, TrainConfigError, load_config, parse_config, template_fields
from tests.conftest import ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_suit_lora_and_full():
    config = parse_config({"base_model": "Helsinki-NLP/opus-mt-en-fr"})
    assert (config.method, config.lr, config.lora.r, config.lora.alpha, config.lora.target_modules) == ("lora", 2e-4, 16, 32, "auto")
    assert (config.epochs, config.batch_size, config.warmup_ratio, config.precision, config.quantize) == (3.0, 8, 0.03, "auto", "auto")
    assert config.data.target_lang_column == "auto" and config.prompt == "{input}"
    full = parse_config({"base_model": "x", "full": True})
    assert (full.method, full.lr) == ("full", 5e-5)
    assert parse_config({"base_model": "x", "learning_rate": 0.001}).lr == 0.001


def test_errors_name_file_line_and_suggest(tmp_path):
    path = write(tmp_path, "name: x\nbase_model: some/model\nlerning_rate: 0.1\ndata:\n  target_lang_col: tgt_lang\n"
                           "task: seq3seq\nprompt: \"Translate {input\"\nlora: {r: 0}\n")  # fmt: skip
    with pytest.raises(TrainConfigError) as info:
        load_config(path)
    problems = info.value.problems
    assert info.value.exit_code == 2 and len(problems) == 5
    assert f"{path}:3:1: config: unknown key 'lerning_rate'; did you mean 'learning_rate'? (allowed: base_model," in "\n".join(problems)
    assert f"{path}:5:3: data: unknown key 'target_lang_col'; did you mean 'target_lang_column'?" in "\n".join(problems)
    assert f"{path}:6:1: task: 'seq3seq' is not allowed; did you mean 'seq2seq'? (expected 'auto', 'seq2seq' or 'causal')" in problems
    assert any(p.startswith(f"{path}:7:1: prompt: not a valid template") for p in problems)
    assert f"{path}:8:8: lora.r: Input should be greater than 0 (got 0)" in problems


def test_tiny_model_errors_point_at_its_keys(tmp_path):
    with pytest.raises(TrainConfigError) as info:
        load_config(write(tmp_path, "base_model: {build_tiny: gpt, path: x}\n"))
    assert info.value.problems == [f"{tmp_path / 'x.yaml'}:1:14: base_model.build_tiny: 'gpt' is not allowed (expected 'marian' or 'qwen2')"]
    config = load_config(write(tmp_path, "base_model: {build_tiny: qwen2, path: m}\n"))
    assert isinstance(config.base_model, TinyModel) and config.base_model.build_tiny == "qwen2"


def test_missing_file_and_not_a_mapping(tmp_path):
    with pytest.raises(TrainConfigError, match="training config not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(TrainConfigError, match="a training config is a mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))
    with pytest.raises(TrainConfigError, match="base_model: missing required key"):
        parse_config({})


def test_template_fields():
    assert template_fields("Summarize in {target_lang_name}: {text}") == ["target_lang_name", "text"]
    assert template_fields("{{literal}} {input}") == ["input"]
    with pytest.raises(ValueError, match="plain name"):
        template_fields("{input[0]}")
    with pytest.raises(TrainConfigError, match="uses no field"):
        parse_config({"base_model": "x", "prompt": "no fields"})


def test_shipped_configs_are_valid_and_default_matches_the_builtin():
    quick = load_config(ROOT / "train" / "quickstart.yaml")
    assert quick.data.dir == "out/quickstart" and quick.data.target_lang_column == "tgt_lang"
    assert isinstance(quick.base_model, TinyModel) and quick.base_model.build_tiny == "marian"
    default = yaml.safe_load((ROOT / "train" / "default.yaml").read_text(encoding="utf-8"))
    assert default == DEFAULT_CONFIG
    assert load_config(ROOT / "train" / "default.yaml").data.dir is None  # trains on the last run


def test_recipe_section_errors_point_into_the_recipe(tmp_path):
    text = "name: r\nsources: []\ntrain:\n  base_model: x\n  batch_size: many\n"
    with pytest.raises(TrainConfigError) as info:
        parse_config(yaml.safe_load(text)["train"], "recipe.yaml", text, prefix=("train",))
    expected = "recipe.yaml:5:3: train.batch_size: Input should be a valid integer, unable to parse string as an integer"
    assert info.value.problems == [f"{expected} (got 'many')"]

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
    assert (config.method, config.lr, config.lora.r, config.lora.alpha, config.lora.target_modules) == (
        "lora",
        2e-4,
        16,
        32,
        "auto",
    )
    assert (config.epochs, config.batch_size, config.warmup_ratio, config.precision, config.quantize) == (
        3.0,
        8,
        0.03,
        "auto",
        "auto",
    )
    assert config.data.target_lang_column == "auto" and config.prompt == "{input}"
    full = parse_config({"base_model": "x", "full": True})
    assert (full.method, full.lr) == ("full", 5e-5)
    assert parse_config({"base_model": "x", "learning_rate": 0.001}).lr == 0.001


def test_errors_name_file_line_and_suggest(tmp_path):
    path = write(
        tmp_path,
        "name: x\nbase_model: some/model\nlerning_rate: 0.1\ndata:\n  target_lang_col: tgt_lang\n"
        'task: seq3seq\nprompt: "Translate {input"\nlora: {r: 0}\n',
    )
    with pytest.raises(TrainConfigError) as info:
        load_config(path)
    problems = info.value.problems
    assert info.value.exit_code == 2 and len(problems) == 5
    assert (
        f"{path}:3:1: config: unknown key 'lerning_rate'; did you mean 'learning_rate'? (allowed: base_model,"
        in "\n".join(problems)
    )
    assert f"{path}:5:3: data: unknown key 'target_lang_col'; did you mean 'target_lang_column'?" in "\n".join(problems)
    assert (
        f"{path}:6:1: task: 'seq3seq' is not allowed; did you mean 'seq2seq'? (expected 'auto', 'seq2seq' or 'causal')"
        in problems
    )
    assert any(p.startswith(f"{path}:7:1: prompt: not a valid template") for p in problems)
    assert f"{path}:8:8: lora.r: Input should be greater than 0 (got 0)" in problems


def test_tiny_model_errors_point_at_its_keys(tmp_path):
    with pytest.raises(TrainConfigError) as info:
        load_config(write(tmp_path, "base_model: {build_tiny: gpt, path: x}\n"))
    assert info.value.problems == [
        f"{tmp_path / 'x.yaml'}:1:14: base_model.build_tiny: 'gpt' is not allowed (expected 'marian' or 'qwen2')"
    ]
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
    expected = (
        "recipe.yaml:5:3: train.batch_size: Input should be a valid integer, unable to parse string as an integer"
    )
    assert info.value.problems == [f"{expected} (got 'many')"]


def test_tasks_retain_sets_and_their_conflicts(tmp_path):
    config = load_config(
        write(
            tmp_path,
            "base_model: x\ntasks:\n  - {data: out/news, weight: 3}\n"
            "  - {name: qa, data: out/qa, prompt: 'Answer: {input}', input_field: question}\n"
            "retain:\n  - {files: eval/eng-fra.jsonl, input_field: src, target_field: tgt}\n",
        )
    )
    assert [(t.label, t.weight, t.prompt) for t in config.tasks] == [
        ("news", 3.0, None),
        ("qa", 1.0, "Answer: {input}"),
    ]
    qa = config.tasks[1].resolve(config.data, "out/qa")
    assert (qa.dir, qa.input_field, qa.target_field, qa.eval_split) == ("out/qa", "question", "target", "validation")
    assert config.retain[0].label == "eng-fra" and config.retain_tolerance == 1.0 and config.retain_metric == "chrf"
    path = write(
        tmp_path,
        "base_model: x\nfull: true\ndata: {dir: out/q}\ntasks:\n  - {data: out/a}\n  - {data: b/a}\n"
        "retain:\n  - {data: out/x, files: y.jsonl}\n  - {data: out/a, promt: '{input}'}\n"
        "init_adapter: out/train/a\n",
    )
    with pytest.raises(TrainConfigError) as info:
        load_config(path)
    assert info.value.problems == [
        f"{path}:8:5: retain[0]: give either `data` (a curate output folder) or `files` (parallel files)",
        f"{path}:9:19: retain[1]: unknown key 'promt'; did you mean 'prompt'? (allowed: data, files, input_field, langs, "
        "max_rows_per_language, name, prompt, split, target_field, target_lang, target_lang_column)",
    ]
    fixed = path.read_text().replace("files: y.jsonl", "name: x").replace("promt", "prompt")
    with pytest.raises(TrainConfigError) as info:
        load_config(write(tmp_path, fixed))
    assert info.value.problems == [
        f"{path}:3:8: data.dir: with `tasks`, each task names its data: remove `data.dir` (the rest of `data:` is "
        "every task's default)",
        f"{path}:6:5: tasks[1]: the name 'a' is used twice; give each its own `name`",
        f"{path}:10:1: init_adapter: `init_adapter` continues a LoRA adapter: it needs `full: false`",
    ]


def test_judge_section():
    judge = parse_config(
        {
            "base_model": "x",
            "judge": {
                "model": "qwen",
                "base_url": "http://localhost:8000/v1",
                "rubrics": {"swh": "Kiswahili sanifu only."},
            },
        }
    ).judge
    assert (judge.backend, judge.against, judge.temperature, judge.api_key_env) == (
        "http",
        "auto",
        0.0,
        "OPENAI_API_KEY",
    )
    with pytest.raises(TrainConfigError, match=r"judge: backend `http` needs `base_url`"):
        parse_config({"base_model": "x", "judge": {"model": "qwen"}})
    with pytest.raises(TrainConfigError, match=r"judge.api_key_env: .*whose name ends in _API_KEY or _TOKEN"):
        parse_config({"base_model": "x", "judge": {"model": "q", "base_url": "http://h/v1", "api_key_env": "HOME"}})
    assert parse_config({"base_model": "x", "judge": {"model": "m", "backend": "local"}}).judge.engine == "transformers"

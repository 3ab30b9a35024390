"""`curate train` and `curate eval` through the CLI: no-argument runs, the recipe's `train:` section, errors."""

import json

import pytest
import yaml

from tests.conftest import ROOT
from tests.train.conftest import copy_output, needs_train

pytestmark = [needs_train, pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture(scope="module")
def project(curated, tmp_path_factory):
    """A working directory where `curate run recipes/quickstart.yaml` has just run."""
    root = tmp_path_factory.mktemp("project")
    copy_output(curated, root / "out" / "quickstart")
    return root


def test_train_with_no_argument_uses_the_last_run(cli, project):
    result = cli("train", "--max-steps", "4", cwd=project)
    assert result.code == 0, result.err
    # the quickstart recipe has a `train:` section, which `curate train` with no argument uses
    assert (
        "config: recipes/quickstart.yaml (train:)" in result.err
        and "data: out/quickstart (recipe quickstart" in result.err
    )
    assert "built a tiny random marian model in out/models/tiny-marian" in result.err
    assert "wrote out/train/quickstart: lora on out/models/tiny-marian, 4 steps" in result.err
    lines = result.out.splitlines()
    assert lines[0] == "base → fine-tuned, per set and language (loss per token; chrF, BLEU of generated outputs)"
    assert lines[1].split() == ["set", "┃", "language", "┃", "name", "┃", "rows", "┃", "loss", "┃", "chrF", "┃", "BLEU"]
    assert any(line.split()[:6] == ["validation", "│", "gla", "│", "Scottish", "Gaelic"] for line in lines)
    assert any(line.split()[:6] == ["validation", "│", "all", "│", "macro", "average"] for line in lines)
    metrics = json.loads((project / "out" / "train" / "quickstart" / "metrics.json").read_text())
    assert (
        metrics["config_source"] == "recipes/quickstart.yaml (train:)"
        and metrics["command"] == "curate train --max-steps 4"
    )


def test_a_model_trained_with_another_config_is_not_replaced_silently(cli, curated, tmp_path):
    root = tmp_path / "p"
    copy_output(curated, root / "out" / "quickstart")
    assert cli("train", "--max-steps", "2", "-q", cwd=root).code == 0  # the recipe's `train:` section
    config = ROOT / "train" / "quickstart.yaml"  # the same training, so the same model: replaced, and said so
    same = cli("train", config, "--max-steps", "2", cwd=root)
    assert same.code == 0, same.err
    assert (
        "replacing the model in out/train/quickstart (trained from recipes/quickstart.yaml (train:) with the same "
        "config and data)"
    ) in same.err.splitlines()
    finished = json.loads((root / "out" / "train" / "quickstart" / "metrics.json").read_text())["finished_at"]
    other = cli("train", config, "--max-steps", "3", cwd=root)
    assert other.code == 1 and "Traceback" not in other.err
    assert other.err.splitlines()[-1] == (
        f"error: out/train/quickstart holds a model trained from {config} with another config or data (finished "
        f"{finished}); keep both with --out DIR (or `output_dir:` in the config), or replace it with --overwrite"
    )
    replaced = cli("train", config, "--max-steps", "3", "--overwrite", cwd=root)
    assert (
        replaced.code == 0
        and (
            f"replacing the model in out/train/quickstart (trained from {config} with another "
            "config or data: --overwrite)"
        )
        in replaced.err.splitlines()
    )
    assert json.loads((root / "out" / "train" / "quickstart" / "metrics.json").read_text())["train"]["steps"] == 3


def test_eval_a_finished_adapter(cli, project):
    if not (project / "out" / "train" / "quickstart" / "adapter_config.json").is_file():
        assert cli("train", "--max-steps", "2", cwd=project).code == 0
    result = cli("eval", "--adapter", "out/train/quickstart", "--split", "test", "--max-rows", "3", cwd=project)
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].startswith("test: base → fine-tuned, per set and language")
    saved = json.loads((project / "out" / "train" / "quickstart" / "eval-test.json").read_text())
    assert saved["split"] == "test" and saved["tuned"]["test"]["generated"] is True
    rows = {r["lang"]: r for r in saved["comparison"]["sets"][0]["rows"]}
    assert all(r["rows"] <= 3 for r in rows.values() if r["lang"] != "all") and "yid" in rows
    assert (project / "out" / "train" / "quickstart" / "eval-test.md").read_text().startswith("| set | language |")
    card = (project / "out" / "train" / "quickstart" / "README.md").read_text()
    assert "## Evaluation on the test split (`curate eval`)" in card


def test_train_section_of_the_recipe(cli, project, tmp_path):
    root = tmp_path / "p"
    out = copy_output(project / "out" / "quickstart", root / "out" / "quickstart")
    recipe = {
        "name": "quickstart",
        "sources": [{"path": "data"}],
        "output": {"dir": "out/quickstart"},
        "train": {
            "name": "from-recipe",
            "base_model": {"build_tiny": "marian", "path": "out/models/m", "vocab_size": 300},
            "data": {"eval_split": None},
            "batch_size": 4,
        },
    }
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["recipe_file"] = "recipe.yaml"
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = cli("train", "--max-steps", "2", "-q", cwd=root)
    assert result.code == 0, result.err
    assert (root / "out" / "train" / "from-recipe" / "adapter_model.safetensors").is_file()
    metrics = json.loads((root / "out" / "train" / "from-recipe" / "metrics.json").read_text())
    assert metrics["config_source"] == "recipe.yaml (train:)" and metrics["eval"] == {}

    recipe["train"]["batch_size"] = "four"
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    result = cli("train", cwd=root)
    assert (
        result.code == 2
        and "recipe.yaml:" in result.err
        and "train.batch_size: Input should be a valid integer" in result.err
    )


def test_user_errors_exit_without_traceback(cli, tmp_path):
    (tmp_path / "bad.yaml").write_text("base_model: x\nbatch_sise: 3\n")
    result = cli("train", "bad.yaml", cwd=tmp_path)
    assert result.code == 2 and "error: invalid training config" in result.err and "Traceback" not in result.err
    assert "bad.yaml:2:1: config: unknown key 'batch_sise'; did you mean 'batch_size'?" in result.err
    result = cli("train", cwd=tmp_path)
    assert result.code == 2 and "no curated data: run `curate run RECIPE` first" in result.err
    result = cli("train", "--export", "onnx", cwd=tmp_path)
    assert result.code == 1 and "--export: unknown format 'onnx' (formats: ct2)" in result.err
    result = cli("eval", "--adapter", "nowhere", cwd=tmp_path)
    assert result.code == 1 and "nowhere: no train_config.yaml inside" in result.err

"""The Ray engine runs the same recipe to the same output as the local engine."""

import hashlib
import json

import polars as pl
import pytest

from curate.core.progress import Reporter
from curate.run import RunOptions, run_recipe
from curate.run.validate import load_and_check
from tests.conftest import ROOT, write_jsonl, write_recipe

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def run(recipe_path, out, engine, **options):
    recipe, sources = load_and_check(recipe_path)
    return run_recipe(recipe, sources, RunOptions(out=out, engine=engine, **options), Reporter(quiet=True))


def digest(out):
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.glob("*/*.parquet"))
    }


def test_quickstart_same_output_with_both_engines(cluster, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    local = run(ROOT / "recipes" / "quickstart.yaml", tmp_path / "local", "local")
    distributed = run(ROOT / "recipes" / "quickstart.yaml", tmp_path / "ray", "ray", workers=2)
    assert distributed["accounting"] == local["accounting"] and local["accounting"]["ok"]
    ids = lambda out: sorted(pl.read_parquet(out / "data" / "*.parquet")["_id"].to_list())  # noqa: E731
    assert ids(tmp_path / "ray") == ids(tmp_path / "local")
    assert digest(tmp_path / "ray") == digest(tmp_path / "local")
    assert [s["rows_out"] for s in distributed["steps"]] == [s["rows_out"] for s in local["steps"]]


def test_global_step_and_bad_input_on_ray(cluster, tmp_path, monkeypatch):
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "the",
        "lazy",
        "dog",
        "near",
        "the",
        "quiet",
        "river",
        "bank",
        "at",
        "dawn",
    ]
    # every 10th row repeats the row before it with one word changed: a near duplicate
    records = [
        {
            "text": " ".join(words[(i // 10 * 10 + k) % len(words)] for k in range(12))
            + f" {i // 10 * 10}"
            + (" again" if i % 10 == 9 else f" {i}"),
            "lang": "a" if i % 4 else "b",
        }
        for i in range(400)
    ]
    write_jsonl(tmp_path / "in" / "one.jsonl", records[:200] + ["{broken"])
    write_jsonl(tmp_path / "in" / "two.jsonl", records[200:])
    recipe = write_recipe(
        tmp_path / "r.yaml",
        """\
name: ray
seed: 4
sources:
  - path: in/*.jsonl
steps:
  - dedup: {method: minhash, field: text, threshold: 0.5}
  - balance: {by: lang, strategy: cap, cap: 120}
output:
  dir: out
engine: {batch_rows: 50}
""",
    )
    monkeypatch.chdir(tmp_path)
    local = run(recipe, tmp_path / "local", "local")
    distributed = run(recipe, tmp_path / "ray", "ray", workers=2)
    assert digest(tmp_path / "ray") == digest(tmp_path / "local")
    assert distributed["steps"][1]["reasons"] == local["steps"][1]["reasons"]
    assert distributed["steps"][1]["reasons"]["near_duplicate"] > 0
    assert distributed["steps"][2]["reasons"] == local["steps"][2]["reasons"]
    recipe.write_text(recipe.read_text().replace("seed: 4", "seed: 4\non_bad_input: fail"))
    from curate.core.errors import InputError

    with pytest.raises(InputError, match=r"in/one.jsonl, line 201: unparseable"):
        run(recipe, tmp_path / "fail", "ray", workers=2)
    assert json.loads((tmp_path / "ray" / "manifest.json").read_text())["accounting"]["ok"]

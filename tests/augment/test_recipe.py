"""recipes/augment.yaml end to end on the sample data (with the test session's tiny models in place of
out/models/tiny): Yiddish rows gain synthetic rows from all three steps, and every other row is left alone."""

from __future__ import annotations

import json

import polars as pl
import pytest

pytest.importorskip("ctranslate2")
pytest.importorskip("transformers")

from curate.augment.validate import REASONS
from tests.augment import models
from tests.conftest import ROOT, check_accounting, check_progress


def test_the_augment_recipe(tmp_path, cli):
    text = (ROOT / "recipes" / "augment.yaml").read_text(encoding="utf-8")
    for name in ("marian-yid-eng", "marian-eng-yid", "qwen2-yid"):
        text = text.replace(f"out/models/tiny/{name}", str(models.model(name)))
    assert not [line for line in text.splitlines() if "out/models/tiny" in line and not line.startswith("#")]
    text = text.replace("dir: out/augment", f"dir: {tmp_path / 'out'}").replace("data/pairs/", f"{ROOT}/data/pairs/")
    recipe = tmp_path / "augment.yaml"
    recipe.write_text(text, encoding="utf-8")
    done = cli("run", str(recipe), "--out", str(tmp_path / "out"))
    assert done.code == 0, done
    out = tmp_path / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    # every record of data/pairs is curated or rejected; synthetic rows (kept and rejected) count apart
    records = sum(
        1 for f in (ROOT / "data" / "pairs").glob("*.jsonl") for line in f.read_bytes().split(b"\n") if line.strip()
    )
    line = check_accounting(out, records, done.err)
    assert " synthetic; rejects/ " in line and line.endswith(" synthetic")
    check_progress(done.err)
    assert check_accounting(out, records, cli("inspect", str(out)).out) == line
    origins = manifest["synthetic"]
    assert sorted(o.split(":")[0] for o in origins) == ["backtranslate", "paraphrase", "roundtrip"]
    assert all(v["rejected"] > 0 for v in origins.values()) and sum(v["kept"] for v in origins.values()) > 0
    data = pl.read_parquet(out / "data")
    made = data.filter(pl.col("_synthetic").fill_null(False))
    assert (made["tgt_lang"] == "yid").all() and made["_parent_id"].is_in(data["_id"].implode()).all()
    rejects = [pl.read_parquet(f) for f in sorted((out / "rejects").glob("*.parquet"))]
    synthetic_reasons = {
        r for frame in rejects if frame["_step"][0] != "read" and frame.height for r in frame["_reason"]
    }
    assert synthetic_reasons and synthetic_reasons <= set(REASONS)
    assert "## Synthetic data" in (out / "README.md").read_text(encoding="utf-8")

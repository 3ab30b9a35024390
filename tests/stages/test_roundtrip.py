"""`roundtrip`: Yiddish -> English -> Yiddish with two tiny local Marians on CTranslate2."""

from __future__ import annotations

import re

import polars as pl
import pytest

pytest.importorskip("ctranslate2")
pytest.importorskip("transformers")

from curate.augment.validate import REASONS, normalized
from curate.core.errors import CurateError
from curate.stages.base import StepContext
from curate.stages.registry import get_step
from tests.augment import models


@pytest.fixture(scope="module")
def pair():
    return {"yid-eng": str(models.model("marian-yid-eng")), "eng-yid": str(models.model("marian-eng-yid"))}


def step(pair, **params):
    config = {"field": "target", "pivots": ["eng"], "models": pair, "cache_dir": str(models.ct2_cache()), **params}
    instance = get_step("roundtrip").from_dict(config, StepContext(seed=13))
    instance.setup()
    return instance


def made(result) -> pl.DataFrame:
    return pl.concat([result.kept.filter(pl.col("_synthetic")), result.rejected.drop("_reason", "_detail")])


def test_greedy_round_trips_of_memorised_pairs_are_copies(pair):
    batch = models.batch()
    result = step(pair, lang="yid", beam_size=1).process(batch)
    rows = made(result)
    assert rows.height == batch.height and rows["_origin"].n_unique() == 1
    assert re.fullmatch(r"roundtrip:.*marian-yid-eng\+.*marian-eng-yid#[0-9a-f]{8}", rows["_origin"][0])
    rejected = result.rejected
    assert set(rejected["_reason"]) <= set(REASONS)
    copies = rejected.filter(pl.col("_reason") == "synthetic:copy").join(
        batch.select(pl.col("_id").alias("_parent_id"), pl.col("target").alias("parent")), on="_parent_id"
    )
    assert copies.height >= 15
    exact = copies.filter(pl.col("_detail").str.starts_with("the input"))
    assert exact.select((normalized("target") == normalized("parent")).all()).item()
    parents = batch.select(
        pl.col("_id").alias("_parent_id"), pl.col("target").alias("parent"), pl.col("text").alias("parent_text")
    )
    kept = result.kept.filter(pl.col("_synthetic")).join(parents, on="_parent_id")
    assert (kept["target"] != kept["parent"]).all() and (kept["text"] == kept["parent_text"]).all()


def test_sampled_variants_per_pivot_and_language_from_the_column(pair):
    batch = models.batch(german=True)  # `target_lang` says yid or deu; there is no Yiddish <-> German model here
    result = step(pair, n=2, beam_size=1, sampling_topk=0, only={"target_lang": ["yid"]}).process(batch)
    rows = made(result)
    assert rows.height == 2 * (batch.height - 2) and result.stats["synthetic:rows_selected"] == batch.height - 2
    kept = result.kept.filter(pl.col("_synthetic"))
    assert kept.height > 0 and (kept["target_lang"] == "yid").all()
    wrong = result.rejected.filter(pl.col("_reason") == "synthetic:wrong_language")
    assert (wrong["target_lang"] != "yid").all()  # a reject carries the language that was detected


def test_a_missing_direction_is_a_clear_error(pair):
    with pytest.raises(CurateError, match=r"no model for eng -> yid; add `eng-yid: MODEL` to `models`"):
        step({"yid-eng": pair["yid-eng"]}, lang="yid")


def test_rows_without_a_language_are_left_alone(pair):
    batch = models.batch().with_columns(pl.lit(None, pl.String).alias("target_lang"))
    result = step(pair).process(batch)
    assert result.kept.height == batch.height and result.rejected.height == 0
    assert result.stats["synthetic:rows_without_language"] == batch.height


def test_config_errors():
    from pydantic import ValidationError

    cls = get_step("roundtrip").Config
    with pytest.raises(ValidationError, match="give `model` .multilingual. or `models`"):
        cls(pivots=["eng"])
    with pytest.raises(ValidationError, match="is not `from-to`"):
        cls(pivots="eng", models={"yid": "m"})
    assert cls(pivots="eng", model="m").pivots == ["eng"]

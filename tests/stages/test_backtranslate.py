"""`backtranslate`: synthetic English for the Yiddish sample pairs with a tiny local Marian on CTranslate2.

The tiny models (tests/augment/models.py) are trained for seconds to translate the sample pairs, so their greedy
translation of a Yiddish sentence is mostly the English it was paired with: a copy of the row's `text`, which the
validation must reject as `synthetic:copy`, while sampled variants differ and can pass.
"""

from __future__ import annotations

import json
import re

import polars as pl
import pytest

pytest.importorskip("ctranslate2")
pytest.importorskip("transformers")

from curate.augment.validate import REASONS, normalized
from curate.models.locate import ModelNotAvailableError
from curate.stages.base import StepContext
from curate.stages.registry import get_step
from tests.augment import models
from tests.conftest import write_recipe


@pytest.fixture(scope="module")
def paths():
    return {name: str(models.model(name)) for name in ("marian-yid-eng", "marian-eng-yid")}


def step(paths, **params):
    config = {
        "model": paths["marian-yid-eng"],
        "target_lang": "eng",
        "source_lang": "yid",
        "cache_dir": str(models.ct2_cache()),
        **params,
    }
    instance = get_step("backtranslate").from_dict(config, StepContext(seed=13))
    instance.setup()
    return instance


def synthetic(result) -> pl.DataFrame:
    return result.kept.filter(pl.col("_synthetic"))


def test_input_rows_come_back_unchanged_and_synthetic_rows_are_marked(paths):
    batch = models.batch()
    result = step(paths, beam_size=4, n=2).process(batch)
    originals = result.kept.filter(~pl.col("_synthetic"))
    assert originals.drop("_synthetic", "_parent_id", "_origin").equals(batch)
    assert (
        originals["_parent_id"].null_count() == originals.height
        and originals["_origin"].null_count() == originals.height
    )
    made = pl.concat([synthetic(result), result.rejected.drop("_reason", "_detail")])
    assert made.height == 2 * batch.height == result.stats["synthetic:candidates"]
    assert result.kept.height + result.rejected.height == batch.height + made.height
    assert made["_synthetic"].all() and set(made["_parent_id"]) == set(batch["_id"])
    assert made["_id"].n_unique() == made.height and not set(made["_id"]) & set(batch["_id"])
    assert made["_origin"].unique().to_list() == [made["_origin"][0]]
    assert re.fullmatch(r"backtranslate:.*marian-yid-eng#[0-9a-f]{8}", made["_origin"][0])
    joined = made.join(
        batch.select("_id", "target", pl.col("text").alias("parent_text")),
        left_on="_parent_id",
        right_on="_id",
        how="left",
        suffix="_parent",
    )
    assert (joined["target"] == joined["target_parent"]).all()  # the Yiddish stays: a new pair for it
    assert made.columns == result.kept.columns


def test_copies_of_the_existing_text_are_rejected_and_valid_rows_differ(paths):
    batch = models.batch()
    result = step(paths, beam_size=1).process(batch)
    rejected = result.rejected
    assert set(rejected["_reason"]) <= set(REASONS) and rejected["_detail"].null_count() == 0
    parents = batch.select(pl.col("_id").alias("_parent_id"), pl.col("text").alias("parent"))
    copies = rejected.filter(pl.col("_reason") == "synthetic:copy").join(parents, on="_parent_id")
    assert copies.height >= 15  # greedy decoding of a model that memorised its pairs
    same = copies.select((normalized("text") == normalized("parent")).alias("same"))["same"]
    chrf_copies = copies.filter(pl.col("_detail").str.starts_with("chrF"))
    assert same.sum() + chrf_copies.height == copies.height
    kept = synthetic(result).join(parents, on="_parent_id")
    assert (kept["text"] != kept["parent"]).all()


def test_the_same_rows_get_the_same_ids_and_texts_on_every_run_and_in_any_batching(paths):
    batch = models.batch()
    first = step(paths, beam_size=1).process(batch)
    again = step(paths, beam_size=1).process(batch)
    halves = [step(paths, beam_size=1).process(batch[:15]), step(paths, beam_size=1).process(batch[15:])]

    def made(results):
        frames = [r.kept.filter(pl.col("_synthetic")) for r in results] + [
            r.rejected.drop("_reason", "_detail") for r in results
        ]
        return pl.concat(frames).select("_id", "_parent_id", "text").sort("_id")

    assert made([first]).equals(made([again])) and made([first]).equals(made(halves))


def test_only_and_sample_choose_the_rows(paths):
    batch = models.batch(german=True)
    only = step(paths, beam_size=1, only={"target_lang": ["yid"]}).process(batch)
    made = pl.concat([synthetic(only), only.rejected.drop("_reason", "_detail")])
    german = batch.filter(pl.col("target_lang") == "deu")["_id"]
    assert not set(made["_parent_id"]) & set(german) and made.height == batch.height - 2
    half = step(paths, beam_size=1, only={"target_lang": "yid"}, sample=0.5).process(batch)
    again = step(paths, beam_size=1, only={"target_lang": "yid"}, sample=0.5).process(batch)
    chosen = half.stats["synthetic:rows_selected"]
    assert 5 <= chosen <= 22 and again.stats["synthetic:rows_selected"] == chosen
    assert sorted(synthetic(half)["_parent_id"]) == sorted(synthetic(again)["_parent_id"])


def test_n_sampled_variants(paths):
    batch = models.batch()[:8]
    result = step(paths, n=3, beam_size=1, sampling_topk=0, sampling_temperature=1.3).process(batch)
    made = pl.concat([synthetic(result), result.rejected.drop("_reason", "_detail")])
    assert made.height == 24 and made.group_by("_parent_id").len()["len"].to_list() == [3] * 8
    assert made["text"].n_unique() > 8


def test_tags_of_the_replaced_column_are_emptied_and_its_language_set(paths):
    batch = models.batch().with_columns(
        pl.lit("eng").alias("text_lang"),
        pl.lit(0.97).alias("text_lang_score"),
        pl.lit("c1").alias("dup_cluster"),
        pl.lit([{"kind": "email", "start": 0, "end": 3}]).alias("text_pii"),
    )
    result = step(paths, n=2, beam_size=1, sampling_topk=0).process(batch)
    made = pl.concat([synthetic(result), result.rejected.drop("_reason", "_detail")])
    assert made["text_pii"].null_count() == made.height and made["dup_cluster"].null_count() == made.height
    kept = synthetic(result)
    assert kept.height and (kept["text_lang"] == "eng").all() and kept["text_lang_score"].is_between(0, 1).all()
    assert (made["target_lang"] == "yid").all()


def test_round_trip_check_with_a_reverse_model(paths):
    batch = models.batch()
    # no comparison with the existing text: the memorised translations are then duplicates of it
    right = step(paths, beam_size=1, compare_with_existing=False, reverse_model=paths["marian-eng-yid"]).process(batch)
    assert right.rejected.filter(pl.col("_reason") == "synthetic:duplicate").height >= 15
    assert right.rejected.filter(pl.col("_reason") == "synthetic:roundtrip").height <= 3
    # a "reverse" model going the wrong way cannot bring the English back to Yiddish
    wrong = step(paths, beam_size=1, compare_with_existing=False, reverse_model=paths["marian-yid-eng"]).process(batch)
    assert wrong.rejected.filter(pl.col("_reason") == "synthetic:roundtrip").height >= 20
    assert synthetic(wrong).height == 0


def test_transformers_engine_gives_the_same_rows_as_ctranslate2_float32(paths):
    batch = models.batch()[:10]
    fast = step(paths, beam_size=1, compute_type="float32").process(batch)
    reference = step(paths, beam_size=1, engine="transformers").process(batch)

    def texts(result):
        return pl.concat([synthetic(result), result.rejected.drop("_reason", "_detail")]).sort("_parent_id")["text"]

    assert texts(fast).to_list() == texts(reference).to_list()


def test_a_model_that_is_not_here_is_a_clear_error(paths):
    with pytest.raises(ModelNotAvailableError, match="hf download Helsinki-NLP/opus-mt-yi-en"):
        step(paths, model="Helsinki-NLP/opus-mt-yi-en")


def test_config_errors():
    from pydantic import ValidationError

    cls = get_step("backtranslate").Config
    with pytest.raises(ValidationError, match="target_lang"):
        cls(model="m")
    with pytest.raises(ValidationError, match="sampling_temperature needs sampling"):
        cls(model="m", target_lang="eng", sampling_temperature=0.7)
    with pytest.raises(ValidationError, match="extra"):
        cls(model="m", target_lang="eng", beam=4)


def test_through_the_engine_synthetic_rows_are_counted_apart(paths, tmp_path, cli):
    data = tmp_path / "pairs.jsonl"
    data.write_bytes(models.PAIRS_FILE.read_bytes())
    recipe = write_recipe(
        tmp_path / "r.yaml",
        f"""
name: bt
seed: 13
sources:
  - path: {data}
    columns: {{text: src, target: tgt}}
steps:
  - backtranslate: {{model: {paths["marian-yid-eng"]}, source_lang: yid, target_lang: eng, n: 2, beam_size: 1,
                     sampling_topk: 0, only: {{tgt_lang: [yid]}}, cache_dir: {models.ct2_cache()}}}
output:
  dir: {tmp_path / "out"}
  splits: {{train: 1.0}}
""",
    )
    done = cli("run", str(recipe))
    assert done.code == 0, done
    out = tmp_path / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    acc = manifest["accounting"]
    assert acc["ok"] and acc["rows_read"] == acc["curated_read"] + acc["rejected_read"]
    data_rows = pl.read_parquet(out / "data")
    rejects = pl.concat(
        [pl.read_parquet(f) for f in sorted((out / "rejects").glob("*.parquet"))], how="diagonal_relaxed"
    )
    synthetic_out = data_rows.filter(pl.col("_synthetic").fill_null(False)).height
    synthetic_rejected = rejects.filter(pl.col("_step") == "backtranslate").height
    assert acc["synthetic_out"] == synthetic_out > 0 and acc["synthetic_rejected"] == synthetic_rejected > 0
    assert synthetic_out + synthetic_rejected == 2 * (
        acc["rows_read"] - rejects.filter(pl.col("_step") == "read").height
    )
    assert set(rejects.filter(pl.col("_step") == "backtranslate")["_reason"]) <= set(REASONS)
    origin = next(iter(manifest["synthetic"]))
    assert origin.startswith("backtranslate:") and manifest["synthetic"][origin]["kept"] == synthetic_out

import json

import polars as pl
import pytest

from curate.stages.balance import Balance, quotas_for, temperature_quotas, upsampling_quotas
from tests.conftest import write_jsonl, write_recipe

# Temperature sampling (XLM-R, mT5): group i gets a share p_i = n_i^a / sum_j n_j^a of the total, a = 1/T. For the
# skewed corpus below (eng 1000, fra 100, yid 10; a = 0.3; total 1110), by hand:
#   1000^0.3 = 10^0.9 = 7.943282, 100^0.3 = 10^0.6 = 3.981072, 10^0.3 = 1.995262; sum 13.919616
#   eng 1110 * 7.943282 / 13.919616 = 633.426, fra 1110 * 3.981072 / 13.919616 = 317.465,
#   yid 1110 * 1.995262 / 13.919616 = 159.109
# rounded down 633 + 317 + 159 = 1109; the one row left goes to the largest remainder (fra .465 > eng .426 > yid .109)
SKEWED = {"eng": 1000, "fra": 100, "yid": 10}
SKEWED_QUOTAS = {"eng": 633, "fra": 318, "yid": 159}


def test_temperature_quotas_follow_the_formula():
    assert temperature_quotas(SKEWED, 0.3, 1110) == SKEWED_QUOTAS
    assert temperature_quotas(SKEWED, 1.0, 1110) == SKEWED  # a = 1: the corpus's own shares
    assert temperature_quotas(SKEWED, 0.0, 1110) == {"eng": 370, "fra": 370, "yid": 370}  # a = 0: equal shares
    # three equal groups and 10 rows: 3.33 each, 3 + 3 + 3, and the tie for the last row goes by name
    assert temperature_quotas({"c": 5, "a": 5, "b": 5}, 0.5, 10) == {"a": 4, "b": 3, "c": 3}


def test_cap_floor_and_no_repeat():
    sizes = {"a": 50, "b": 5}
    assert quotas_for(sizes, Balance.Config(strategy="cap", cap=20)) == {"a": 20, "b": 5}
    assert quotas_for(sizes, Balance.Config(strategy="floor", floor=10)) == {"a": 50, "b": 10}
    assert quotas_for(sizes, Balance.Config(strategy="floor", floor=10, repeat=False)) == {"a": 50, "b": 5}
    with pytest.raises(ValueError, match="strategy `cap` needs `cap`"):
        Balance.Config(strategy="cap")


def skewed_corpus(tmp_path):
    records = []
    for lang, n in SKEWED.items():
        for i in range(n):
            # every 50th English row is a near-duplicate of the one before it (same cluster)
            cluster = f"{lang}-{i - 1}" if lang == "eng" and i % 50 == 1 else f"{lang}-{i}"
            records.append(
                {"text": f"{lang} sentence {i}", "lang": lang, "label": "pos" if i % 3 else "neg", "cluster": cluster}
            )
    write_jsonl(tmp_path / "in.jsonl", records)
    return write_recipe(
        tmp_path / "r.yaml",
        """\
name: skewed
seed: 5
sources:
  - path: in.jsonl
    columns: {text: text, dup_cluster: cluster}
steps:
  - balance: {by: lang, alpha: 0.3, total: 1110, weights_by: label}
output:
  dir: out
  splits: {train: 0.8, validation: 0.1, test: 0.1}
  stratify_by: lang
""",
    )


def test_skewed_corpus_end_to_end(tmp_path, cli):
    skewed_corpus(tmp_path)
    result = cli("run", "r.yaml", cwd=tmp_path)
    assert result.code == 0, result.err
    out = tmp_path / "out"
    data = pl.read_parquet(out / "data" / "*.parquet")
    assert dict(data["lang"].value_counts().iter_rows()) == SKEWED_QUOTAS
    # groups below quota are filled with marked repeats of every row, as evenly as possible
    yid = data.filter(pl.col("lang") == "yid")
    assert yid.filter(pl.col("_repeat") == 0).height == 10
    # 159 rows from 10: each row 15 times and 9 of them once more
    assert sorted(yid.group_by(pl.coalesce("_repeat_of", "_id")).len()["len"].to_list()) == [15] + [16] * 9
    # the over-quota rows are rejects with the exact reason; every row read is accounted for
    rejects = pl.read_parquet(out / "rejects" / "01-balance.parquet")
    assert rejects["_reason"].unique().to_list() == ["balance:over_quota"]
    assert rejects.height == 1000 - 633
    manifest = json.loads((out / "manifest.json").read_text())
    acc = manifest["accounting"]
    assert acc["ok"] and acc["rows_read"] == 1110
    assert acc["repeats_out"] == acc["added_out"] == (159 - 10) + (318 - 100)
    # leak-free: a cluster, and a repeat with its original, are never in two splits
    split_of = pl.concat(
        [
            pl.read_parquet(p).with_columns(pl.lit(p.name.split("-")[0]).alias("split"))
            for p in (out / "data").glob("*.parquet")
        ]
    )
    for key in ("dup_cluster", pl.coalesce("_repeat_of", "_id")):
        assert split_of.group_by(key).agg(pl.col("split").n_unique())["split"].max() == 1
    # stratified: each language has its share of each split
    shares = split_of.group_by("lang", "split").len().pivot("split", index="lang", values="len").sort("lang")
    for row in shares.iter_rows(named=True):
        total = row["train"] + row["validation"] + row["test"]
        assert abs(row["train"] / total - 0.8) < 0.1
    weights = json.loads((out / "weights.json").read_text())
    assert weights["label"] == "label" and set(weights["weights"]) == {"eng", "fra", "yid"}
    assert weights["weights"]["yid"] == {"neg": round(10 / (2 * 4), 6), "pos": round(10 / (2 * 6), 6)}
    # the step lists the file with itself in the manifest, and the card says what it is for, after the step's figures
    assert manifest["steps"][1]["artifacts"] == {"weights.json": "class weights per group and label, for the trainer"}
    card = (out / "README.md").read_text()
    before, found, _ = card.partition(
        "## Class weights\n\nWritten to `weights.json` for the trainer.\n\n## Limitations"
    )
    assert found and "## Step 1: balance" in before


def test_deterministic_and_seed_dependent():
    frame = pl.DataFrame({"_id": [f"id{i}" for i in range(100)], "text_lang": ["a"] * 90 + ["b"] * 10})
    picks = []
    for seed in (1, 1, 2):
        step = Balance.from_dict({"strategy": "cap", "cap": 10})
        step.context.seed = seed
        plan = step.fit(iter([frame]))
        picks.append(sorted(step.apply(frame, plan).kept["_id"].to_list()))
    assert picks[0] == picks[1] != picks[2] and len(picks[0]) == 20


def test_prefer_original_rows_when_shrinking():
    frame = pl.DataFrame(
        {"_id": [f"id{i}" for i in range(20)], "text_lang": ["a"] * 20, "_synthetic": [i >= 10 for i in range(20)]}
    )
    step = Balance.from_dict({"strategy": "cap", "cap": 10})
    result = step.apply(frame, step.fit(iter([frame])))
    assert result.kept["_synthetic"].to_list() == [False] * 10
    assert result.rejected["_reason"].to_list() == ["balance:over_quota"] * 10


def test_temperature_without_total_keeps_every_real_row():
    # n_max * (n / n_max) ** 0.5: fra 1000 * sqrt(0.1) = 316.2 -> 316, yid 1000 * sqrt(0.01) = 100
    sizes = {"eng": 1000, "fra": 100, "yid": 10}
    assert upsampling_quotas(sizes, 0.5) == {"eng": 1000, "fra": 316, "yid": 100}
    assert quotas_for(sizes, Balance.Config(alpha=0.5)) == {"eng": 1000, "fra": 316, "yid": 100}
    # at most 2 copies of a row: yid 10 rows -> 30 at most
    assert quotas_for(sizes, Balance.Config(alpha=0.5, max_copies=2)) == {"eng": 1000, "fra": 300, "yid": 30}
    # asking for a total is asking to drop: eng loses rows
    assert quotas_for(sizes, Balance.Config(alpha=0.5, total=1110))["eng"] < 1000


def pairs_and_paragraphs() -> pl.DataFrame:
    """12 English-German pairs, 3 English-Yiddish pairs, 4 paragraphs without a target language."""
    langs = ["deu"] * 12 + ["yid"] * 3 + [None] * 4
    return pl.DataFrame(
        {
            "_id": [f"r{i:02d}" for i in range(len(langs))],
            "src_lang": ["eng"] * 15 + [None] * 4,
            "tgt_lang": langs,
            "text_lang": ["eng"] * 15 + ["ara", "ara", "deu", "hin"],
        }
    )


def test_pairs_balanced_by_target_language_and_paragraphs_left_alone():
    frame = pairs_and_paragraphs()
    step = Balance.from_dict({"by": "tgt_lang", "alpha": 0.5})
    plan = step.fit(iter([frame]))
    result = step.apply(frame, plan)
    assert result.rejected.height == 0
    # yid: 12 * sqrt(3 / 12) = 6, so 3 copies; deu is the largest and keeps its 12; the 4 paragraphs are not a group
    kept = result.kept
    assert dict(kept.group_by("tgt_lang").len().iter_rows()) == {"deu": 12, "yid": 6, None: 4}
    assert kept.filter(pl.col("_repeat") > 0)["_repeat_of"].sort().to_list() == ["r12", "r13", "r14"]
    assert step.fit_stats(plan) == {
        "ungrouped": 4,
        "rows:deu": 12,
        "copies:deu": 0,
        "dropped:deu": 0,
        "rows:yid": 3,
        "copies:yid": 3,
        "dropped:yid": 0,
    }
    stats, params = step.fit_stats(plan), step.config.model_dump()
    assert Balance.notes(params, stats) == [
        "copies per tgt_lang: yid 3 + 3 (2.0x); real rows dropped (over quota): "
        "none; 4 rows without tgt_lang kept as they are"
    ]
    assert Balance.card_section(params, stats).splitlines()[2:] == [
        "| group | rows | copies added | real rows dropped | rows after |",
        "|---|---|---|---|---|",
        "| `deu` | 12 | 0 | 0 | 12 |",
        "| `yid` | 3 | 3 | 0 | 6 |",
    ]


def test_balance_by_the_pair_and_a_cap():
    frame = pairs_and_paragraphs()
    step = Balance.from_dict({"by": ["src_lang", "tgt_lang"], "strategy": "cap", "cap": 10})
    plan = step.fit(iter([frame]))
    result = step.apply(frame, plan)
    assert plan.sizes == {"eng/deu": 12, "eng/yid": 3}
    assert result.rejected["_reason"].to_list() == ["balance:over_quota"] * 2 and result.kept.height == 17
    assert Balance.notes(step.config.model_dump(), step.fit_stats(plan)) == [
        "copies per src_lang/tgt_lang: none; real rows dropped (over quota): eng/deu 2 of 12; 4 rows without "
        "src_lang/tgt_lang kept as they are"
    ]


def test_splits_with_few_originals_are_flagged():
    from curate.run.splits import thin_splits

    # yor: 1 row and its 4 copies, all in validation (they stay together); swa: 12 rows over the splits
    keys = pl.DataFrame(
        {
            "_id": ["y", "y~r1", "y~r2", "y~r3", "y~r4"] + [f"s{i}" for i in range(12)],
            "_repeat_of": [None, "y", "y", "y", "y"] + [None] * 12,
            "lang": ["yor"] * 5 + ["swa"] * 12,
        }
    )
    plan = pl.DataFrame(
        {"_id": keys["_id"], "_split": [1] * 5 + [0] * 10 + [1, 2]}, schema_overrides={"_split": pl.UInt8}
    )
    assert thin_splits(keys, plan, ["train", "validation", "test"], "lang", 2) == [
        {"stratum": "swa", "split": "validation", "originals": 1, "copies": 0},
        {"stratum": "swa", "split": "test", "originals": 1, "copies": 0},
        {"stratum": "yor", "split": "train", "originals": 0, "copies": 0},
        {"stratum": "yor", "split": "validation", "originals": 1, "copies": 4},
        {"stratum": "yor", "split": "test", "originals": 0, "copies": 0},
    ]
    assert thin_splits(keys, plan, ["train", "validation", "test"], "lang", 0) == []

import json

import polars as pl
import pytest

from curate.stages.balance import Balance, quotas_for, temperature_quotas
from tests.conftest import write_jsonl, write_recipe


def test_temperature_quotas_follow_the_formula():
    sizes = {"eng": 1000, "fra": 100, "yid": 10}
    quotas = temperature_quotas(sizes, 0.3, 1110)
    assert sum(quotas.values()) == 1110
    weights = {k: v**0.3 for k, v in sizes.items()}
    for lang, q in quotas.items():
        assert abs(q - 1110 * weights[lang] / sum(weights.values())) < 1
    assert temperature_quotas(sizes, 1.0, 1110) == sizes


def test_cap_floor_and_no_repeat():
    sizes = {"a": 50, "b": 5}
    assert quotas_for(sizes, Balance.Config(strategy="cap", cap=20)) == {"a": 20, "b": 5}
    assert quotas_for(sizes, Balance.Config(strategy="floor", floor=10)) == {"a": 50, "b": 10}
    assert quotas_for(sizes, Balance.Config(strategy="floor", floor=10, repeat=False)) == {"a": 50, "b": 5}
    with pytest.raises(ValueError, match="strategy `cap` needs `cap`"):
        Balance.Config(strategy="cap")


def skewed_corpus(tmp_path):
    records = []
    for lang, n in (("eng", 1000), ("fra", 100), ("yid", 10)):
        for i in range(n):
            # every 50th English row is a near-duplicate of the one before it (same cluster)
            cluster = f"{lang}-{i - 1}" if lang == "eng" and i % 50 == 1 else f"{lang}-{i}"
            records.append({"text": f"{lang} sentence {i}", "lang": lang, "label": "pos" if i % 3 else "neg",
                            "cluster": cluster})  # fmt: skip
    write_jsonl(tmp_path / "in.jsonl", records)
    return write_recipe(tmp_path / "r.yaml", """\
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
""")


def test_skewed_corpus_end_to_end(tmp_path, cli):
    skewed_corpus(tmp_path)
    result = cli("run", "r.yaml", cwd=tmp_path)
    assert result.code == 0, result.err
    out = tmp_path / "out"
    data = pl.read_parquet(out / "data" / "*.parquet")
    quotas = temperature_quotas({"eng": 1000, "fra": 100, "yid": 10}, 0.3, 1110)
    assert dict(data["lang"].value_counts().iter_rows()) == quotas
    # groups below quota are filled with marked repeats of every row, as evenly as possible
    yid = data.filter(pl.col("lang") == "yid")
    assert yid.filter(pl.col("_repeat") == 0).height == 10
    assert yid.group_by(pl.coalesce("_repeat_of", "_id")).len()["len"].to_list().count(16) == quotas["yid"] % 10
    # the over-quota rows are rejects with the exact reason; every row read is accounted for
    rejects = pl.read_parquet(out / "rejects" / "01-balance.parquet")
    assert rejects["_reason"].unique().to_list() == ["balance:over_quota"]
    assert rejects.height == 1000 - quotas["eng"]
    manifest = json.loads((out / "manifest.json").read_text())
    acc = manifest["accounting"]
    assert acc["ok"] and acc["rows_read"] == 1110
    assert acc["repeats_out"] == acc["added_out"] == quotas["yid"] - 10 + quotas["fra"] - 100
    # leak-free: a cluster, and a repeat with its original, are never in two splits
    split_of = pl.concat([pl.read_parquet(p).with_columns(pl.lit(p.name.split("-")[0]).alias("split"))
                          for p in (out / "data").glob("*.parquet")])  # fmt: skip
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
    frame = pl.DataFrame({"_id": [f"id{i}" for i in range(20)], "text_lang": ["a"] * 20,
                          "_synthetic": [i >= 10 for i in range(20)]})  # fmt: skip
    step = Balance.from_dict({"strategy": "cap", "cap": 10})
    result = step.apply(frame, step.fit(iter([frame])))
    assert result.kept["_synthetic"].to_list() == [False] * 10
    assert result.rejected["_reason"].to_list() == ["balance:over_quota"] * 10

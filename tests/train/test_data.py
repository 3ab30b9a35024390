"""Training data: prompts, languages, skipped rows, class weights, language sampling, finding the last run."""

import json
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curate.train.config import parse_config
from curate.train.data import (
    DataError,
    build_examples,
    cap_per_language,
    class_weight_expr,
    epoch_order,
    find_last_run,
    language_name,
    language_probabilities,
    language_shares,
    mixture_probabilities,
    mixture_shares,
    read_class_weights,
    read_files,
    read_split,
)

FRAME = pl.DataFrame(
    {
        "_id": ["a", "b", "c", "d", "e"],
        "text": ["Good morning.", "Thank you!", "A paragraph with no target.", "Where is the station?", "Yes."],
        "target": ["Guten Morgen.", "Merci !", None, "Ubicàite a bheil an stèisean?", "Ja."],
        "tgt_lang": ["deu", "fra", None, "gla", None],
        "domain": ["chat", "chat", "wiki", "travel", None],
    }
)


def config(**values):
    return parse_config({"base_model": "x", **values})


def test_prompt_languages_and_skipped_rows():
    ex = build_examples(
        FRAME,
        config(
            prompt="Translate to {target_lang_name} ({target_lang}): {input} [{domain}]", data={"target_lang": "deu"}
        ),
    )
    assert ex.frame["_id"].to_list() == ["a", "b", "d", "e"]
    assert ex.sources == [
        "Translate to German (deu): Good morning. [chat]",
        "Translate to French (fra): Thank you! [chat]",
        "Translate to Scottish Gaelic (gla): Where is the station? [travel]",
        "Translate to German (deu): Yes. []",  # no tgt_lang: the fixed target_lang; a null column renders as ''
    ]
    assert ex.targets == ["Guten Morgen.", "Merci !", "Ubicàite a bheil an stèisean?", "Ja."]
    assert ex.langs.tolist() == ["deu", "fra", "gla", "deu"]
    assert ex.dropped == {"no target": 1}
    assert ex.languages() == {"deu": 2, "fra": 1, "gla": 1}


def test_language_column_auto_prefers_langid_output():
    frame = FRAME.with_columns(pl.lit("fra").alias("target_lang"))
    assert build_examples(frame, config()).langs.tolist() == ["fra"] * 4
    assert build_examples(FRAME.drop("tgt_lang"), config()).langs.tolist() == ["und"] * 4
    with pytest.raises(DataError, match="language column 'lang' not found"):
        build_examples(FRAME, config(data={"target_lang_column": "lang"}))


def test_unknown_placeholder_and_missing_column_are_data_errors():
    with pytest.raises(DataError, match=r"prompt placeholder \{title\} is neither a column nor one of input"):
        build_examples(FRAME, config(prompt="{title}: {input}"))
    with pytest.raises(DataError, match="column 'summary' not found"):
        build_examples(FRAME, config(data={"target_field": "summary"}))


def test_evaluation_skips_repeated_rows_and_caps_per_language():
    frame = FRAME.with_columns(pl.Series("_repeat", [0, 1, 0, 0, 0]))
    ex = build_examples(frame, config(), evaluation=True)
    assert ex.frame["_id"].to_list() == ["a", "d", "e"] and ex.dropped == {"no target": 1, "repeat": 1}
    capped = cap_per_language(build_examples(FRAME, config(data={"target_lang": "deu"})), 1)
    assert capped.frame["_id"].to_list() == ["a", "b", "d"] and capped.dropped["over max_eval_rows_per_language"] == 1


def test_class_weights_from_the_balance_step(tmp_path):
    weights = {
        "by": ["tgt_lang"],
        "label": "domain",
        "weights": {"deu": {"chat": 2.0}, "gla": {"travel": 0.5}, "<none>": {"<none>": 3.0}},
    }
    (tmp_path / "weights.json").write_text(json.dumps(weights))
    loaded = read_class_weights("auto", tmp_path)
    frame = FRAME.with_columns(pl.when(pl.col("_id") == "e").then(None).otherwise(pl.col("tgt_lang")).alias("tgt_lang"))
    values = frame.select(class_weight_expr(loaded, frame.columns)).to_series().to_list()
    assert values == [2.0, 1.0, 1.0, 0.5, 3.0]  # fra/chat is not listed: 1.0
    ex = build_examples(frame, config(), weights=loaded)
    assert ex.weights.tolist() == [2.0, 1.0, 0.5, 3.0]
    assert build_examples(frame, config(), weights=loaded, evaluation=True).weights.tolist() == [1.0] * 4
    assert read_class_weights("auto", tmp_path / "none") is None and read_class_weights(None, tmp_path) is None
    with pytest.raises(DataError, match="not found"):
        read_class_weights(str(tmp_path / "missing.json"), tmp_path)


def test_language_temperature_sampling():
    langs = np.array(["en"] * 9 + ["gd"] * 1)
    assert language_probabilities(langs, 1.0) is None  # natural shares: plain shuffling
    p = language_probabilities(langs, 2.0)
    assert p.sum() == pytest.approx(1.0)
    assert p[:9].sum() == pytest.approx(3 / 4) and p[9] == pytest.approx(1 / 4)  # sqrt(9) : sqrt(1)
    assert language_shares(langs, 2.0) == {"en": pytest.approx(0.75), "gd": pytest.approx(0.25)}
    draws = np.concatenate([epoch_order(10, p, seed=1, epoch=e) for e in range(400)])
    assert (draws == 9).mean() == pytest.approx(0.25, abs=0.02)


def test_tasks_are_mixed_by_weight_and_languages_by_temperature_within_each():
    tasks = np.array(["news"] * 10 + ["qa"] * 5)
    langs = np.array(["fra"] * 9 + ["gla"] * 1 + ["swh"] * 5)
    p = mixture_probabilities(tasks, langs, {"news": 3.0, "qa": 1.0}, 2.0)
    # news: 3/4 of the draws, inside it sqrt(9):sqrt(1) = 3:1 between French and Gaelic; qa: 1/4, all Swahili
    assert p[:9].sum() == pytest.approx(0.75 * 0.75) and p[9] == pytest.approx(0.75 * 0.25)
    assert p[10:].tolist() == pytest.approx([0.25 / 5] * 5)
    assert mixture_shares(tasks, langs, {"news": 3.0, "qa": 1.0}, 2.0) == {
        "news": {"fra": pytest.approx(0.5625), "gla": pytest.approx(0.1875)},
        "qa": {"swh": pytest.approx(0.25)},
    }
    draws = np.concatenate([epoch_order(15, p, seed=2, epoch=e) for e in range(400)])
    assert (draws >= 10).mean() == pytest.approx(0.25, abs=0.02) and (draws == 9).mean() == pytest.approx(
        0.1875, abs=0.02
    )
    # one task: the plain language sampling (none at all at T = 1)
    assert mixture_probabilities(tasks[:10], langs[:10], {"news": 3.0}, 1.0) is None
    assert mixture_shares(tasks[:10], langs[:10], {"news": 3.0}, 1.0) == {"news": {"fra": 0.9, "gla": 0.1}}


def test_train_on_some_languages_only():
    ex = build_examples(FRAME, config(data={"target_lang": "deu", "langs": ["deu", "gla"]}), task="news")
    assert ex.frame["_id"].to_list() == ["a", "d", "e"] and ex.dropped == {"no target": 1, "other languages": 1}
    assert ex.tasks.tolist() == ["news"] * 3 and ex.inputs == ["Good morning.", "Where is the station?", "Yes."]


def test_parallel_files_for_retain_sets(tmp_path):
    (tmp_path / "eng-fra.jsonl").write_text('{"src": "Hi.", "tgt": "Salut."}\n{"src": "Yes.", "tgt": "Oui."}\n')
    (tmp_path / "eng-deu.tsv").write_text("src\ttgt\nYes.\tJa.\n")
    frame = read_files(str(tmp_path / "eng-*"))
    assert frame.select("_id", "src", "tgt").rows() == [
        ("eng-deu:0", "Yes.", "Ja."),
        ("eng-fra:0", "Hi.", "Salut."),
        ("eng-fra:1", "Yes.", "Oui."),
    ]
    with pytest.raises(DataError, match="no such file"):
        read_files(str(tmp_path / "eng-xxx.jsonl"))
    (tmp_path / "notes.docx").write_text("x")
    with pytest.raises(DataError, match=r"read .jsonl, .parquet, .csv or .tsv files \(got '.docx'\)"):
        read_files(str(tmp_path / "notes.docx"))


def test_epoch_order_depends_only_on_seed_and_epoch():
    assert sorted(epoch_order(7, None, 3, 0).tolist()) == list(range(7))
    assert epoch_order(7, None, 3, 0).tolist() == epoch_order(7, None, 3, 0).tolist()
    assert epoch_order(7, None, 3, 0).tolist() != epoch_order(7, None, 3, 1).tolist()


def test_language_names():
    assert [language_name(c) for c in ("fra", "gla", "swh", "yid", "und", "qqq")] == [
        "French",
        "Scottish Gaelic",
        "Swahili",
        "Yiddish",
        "und",
        "qqq",
    ]


def _run(root: Path, name: str, finished: str) -> Path:
    out = root / "out" / name
    (out / "data").mkdir(parents=True)
    pl.DataFrame({"text": ["a"], "target": ["b"]}).write_parquet(out / "data" / "train-00000-of-00001.parquet")
    (out / "manifest.json").write_text(json.dumps({"recipe_hash": "h", "finished_at": finished}))
    return out


def test_find_last_run_and_read_split(tmp_path):
    assert find_last_run(tmp_path) is None
    _run(tmp_path, "older", "2026-01-01T00:00:00Z")
    newer = _run(tmp_path, "newer", "2026-02-01T00:00:00Z")
    hidden = _run(tmp_path, ".curate", "2027-01-01T00:00:00Z")
    os.utime(hidden / "manifest.json")
    assert find_last_run(tmp_path) == newer
    assert read_split(newer, "train").height == 1
    with pytest.raises(DataError, match=r"no split 'validation' \(splits: train\)"):
        read_split(newer, "validation")
    with pytest.raises(DataError, match="not a curate output folder"):
        read_split(tmp_path, "train")

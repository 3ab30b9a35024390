"""Gain and forgetting: a LoRA fine-tune on French only, scored before and after on its validation split and on two
retain sets (the curated German/Spanish rows it did not train on, and Gaelic parallel files), through `curate train`
and `curate eval`. The figures are checked against outputs generated here with Transformers/PEFT and scored with
sacrebleu."""

import json

import polars as pl
import pytest

from tests.conftest import ROOT
from tests.train.conftest import needs_train, train_config

pytestmark = [needs_train, pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture(scope="module")
def gaelic(tmp_path_factory):
    """Parallel files of a language the model is not trained on: three clean Tatoeba pairs of the sample data."""
    rows = [json.loads(line) for line in (ROOT / "data" / "pairs" / "en-gd.jsonl").read_text("utf-8").splitlines()]
    clean = [r for r in rows if r.get("src", "").strip() and r.get("tgt", "").strip()][:3]
    path = tmp_path_factory.mktemp("retain") / "eng-gla.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in clean), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def french(curated, tiny_marian, gaelic, tmp_path_factory):
    from curate.train.runner import TrainOptions, run_training

    out = tmp_path_factory.mktemp("forgetting") / "fra"
    retain = [
        {"name": "others", "data": str(curated), "langs": ["deu", "spa"], "max_rows_per_language": 3},
        {"files": str(gaelic), "input_field": "src", "target_field": "tgt", "max_rows_per_language": 3},
    ]
    config = train_config(
        tiny_marian,
        curated,
        out,
        data={"langs": ["fra"]},
        retain=retain,
        retain_tolerance=0.0,
        max_steps=40,
        learning_rate=0.02,
    )
    return config, run_training(config, TrainOptions())


def rows_of(curated, split: str, lang: str, n: int) -> list[tuple[str, str]]:
    """(input, reference) of the first `n` rows of a language, as an evaluation takes them (no balancing copies)."""
    frame = pl.read_parquet(curated / "data" / f"{split}-*.parquet").filter(
        (pl.col("tgt_lang") == lang) & pl.col("target").is_not_null() & (pl.col("_repeat").fill_null(0) == 0)
    )
    return frame.head(n).select("text", "target").rows()


def chrf_of(model, tokenizer, rows, lang: str) -> float:
    """Greedy outputs (8 new tokens, as the config says), one row at a time, scored with sacrebleu's chrF."""
    import sacrebleu
    import torch

    outputs = []
    for text, _ in rows:
        ids = tokenizer(f">>{lang}<< {text}", return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=8, num_beams=1, do_sample=False)
        outputs.append(tokenizer.decode(out[0], skip_special_tokens=True).strip())
    return round(sacrebleu.corpus_chrf(outputs, [[ref for _, ref in rows]]).score, 2)


def independent_scores(curated, tiny_marian, output, gaelic_file):
    """{(set, language): (base chrF, tuned chrF)} computed here, not by curate."""
    from peft import PeftModel
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(output)
    base = AutoModelForSeq2SeqLM.from_pretrained(tiny_marian).eval()
    tuned = PeftModel.from_pretrained(AutoModelForSeq2SeqLM.from_pretrained(tiny_marian), str(output)).eval()
    gaelic = [(r["src"], r["tgt"]) for r in map(json.loads, gaelic_file.read_text("utf-8").splitlines())]
    sets = {
        ("validation", "fra"): rows_of(curated, "validation", "fra", 4),
        ("retain:others", "deu"): rows_of(curated, "validation", "deu", 3),
        ("retain:others", "spa"): rows_of(curated, "validation", "spa", 3),
        ("retain:eng-gla", "gla"): gaelic,
    }
    return {
        key: (chrf_of(base, tokenizer, rows, key[1]), chrf_of(tuned, tokenizer, rows, key[1]))
        for key, rows in sets.items()
    }


def test_base_and_tuned_on_the_same_rows_with_forgetting_flags(french, curated, tiny_marian, gaelic):
    config, result = french
    comparison = json.loads((result.output / "metrics.json").read_text())["comparison"]
    assert [(s["name"], s["kind"], s["languages"]) for s in comparison["sets"]] == [
        ("validation", "eval", {"fra": 4}),
        ("retain:others", "retain", {"deu": 3, "spa": 3}),
        ("retain:eng-gla", "retain", {"gla": 3}),
    ]
    expected = independent_scores(curated, tiny_marian, result.output, gaelic)
    found = {(s["name"], r["lang"]): r for s in comparison["sets"] for r in s["rows"] if r["lang"] != "all"}
    assert {k: (r["base"]["chrf"], r["tuned"]["chrf"]) for k, r in found.items()} == expected
    flagged = [
        (s, lang) for (s, lang), (before, after) in expected.items() if s.startswith("retain") and after < before
    ]
    assert [(f["set"], f["lang"]) for f in comparison["forgetting"] if f["lang"] != "all"] == flagged
    assert all(not r["forgetting"] for r in comparison["sets"][0]["rows"])  # the trained split is never "forgotten"
    # the table in the card and in eval_table.md
    table = (result.output / "eval_table.md").read_text().splitlines()
    assert table[0] == "| set | language | name | rows | loss | chrF | BLEU | forgetting |"
    before, after = expected[("retain:others", "deu")]
    deu = next(line for line in table if line.startswith("| retain:others | `deu` | German | 3 | "))
    assert f"| {before:.1f} → {after:.1f} ({after - before:+.1f}) |".replace("(-0.0)", "(+0.0)") in deu
    assert deu.endswith("| yes |" if after < before else "| no |")
    card = (result.output / "README.md").read_text()
    assert "\n".join(table) in card and "Retain sets are data the fine-tune should not forget" in card
    assert ("**Catastrophic forgetting:**" in card) == bool(comparison["forgetting"])


def test_samples_show_the_base_output_beside_the_tuned_one(french):
    _, result = french
    samples = [json.loads(line) for line in (result.output / "samples.jsonl").read_text().splitlines()]
    assert [(s["set"], s["lang"]) for s in samples] == [
        ("validation", "fra"),
        ("retain:others", "deu"),
        ("retain:others", "spa"),
        ("retain:eng-gla", "gla"),
    ]
    assert all(set(s) == {"set", "lang", "input", "reference", "output", "base_output"} for s in samples)


def test_curate_eval_scores_the_same_retain_sets(french, cli):
    _, result = french
    done = cli("eval", "--adapter", result.output, "--split", "test", "--max-rows", "2")
    assert done.code == 0, done.err
    saved = json.loads((result.output / "eval-test.json").read_text())
    comparison = saved["comparison"]
    assert [(s["name"], s["split"]) for s in comparison["sets"]] == [
        ("test", "test"),
        ("retain:others", "test"),
        ("retain:eng-gla", None),
    ]
    assert all(r["rows"] <= 2 for s in comparison["sets"] for r in s["rows"] if r["lang"] != "all")
    warned = [line for line in done.err.splitlines() if line.startswith("warning: forgetting on ")]
    assert len(warned) == len(comparison["forgetting"])
    outputs = [json.loads(line) for line in (result.output / "outputs-test.jsonl").read_text().splitlines()]
    assert {o["set"] for o in outputs} == {"test", "retain:others", "retain:eng-gla"}
    assert all(set(o) == {"set", "_id", "lang", "input", "reference", "output", "base_output"} for o in outputs)
    # every chrF in the table is sacrebleu's on the outputs written beside it
    import sacrebleu

    for s in comparison["sets"]:
        for r in s["rows"]:
            if r["lang"] == "all":
                continue
            mine = [o for o in outputs if o["set"] == s["name"] and o["lang"] == r["lang"]]
            refs = [[o["reference"] for o in mine]]
            assert r["tuned"]["chrf"] == round(sacrebleu.corpus_chrf([o["output"] for o in mine], refs).score, 2)
            assert r["base"]["chrf"] == round(sacrebleu.corpus_chrf([o["base_output"] for o in mine], refs).score, 2)
    card = (result.output / "README.md").read_text()
    assert "## Evaluation on the test split (`curate eval`)" in card and "| retain:eng-gla | `gla` |" in card

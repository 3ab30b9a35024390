"""`curate eval --judge` end to end: a real OpenAI-compatible HTTP server on localhost, and a local chat model.

The HTTP judge answers by a rule of its own (adequacy from the reference's length, fluency from the output's word
count), so the
per-language means can be computed here from the outputs `curate eval` wrote; one language gets answers out of
format. Then the ratings loop without a server: `--rate` queues outputs, `curate review export` writes them,
a rater fills them in, `curate review import` reports human scores and their agreement with the judge.
"""

import csv
import json
import re

import numpy as np
import pytest

from tests.augment.servers import ScriptedServer
from tests.train.conftest import needs_train, train_config

pytestmark = [needs_train, pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning")]
SECRET = "sk-test-judge-key-0042"
OUTPUT = re.compile(r"Output to rate \(it should be in (.+?)\):\n(.*?)\n\nRate the output", re.DOTALL)
REFERENCE = re.compile(r"Reference in .+?:\n(.*?)\n\nOutput to rate", re.DOTALL)


def verdict(output: str, reference: str) -> tuple[int, int]:
    return 1 + len(reference) % 5, 1 + len(output.split()) % 5


def rule(prompt: str, attempt: int):
    language, output = OUTPUT.search(prompt).groups()
    if language == "Yiddish":
        return 200, "Sehr gut, 5 von 5!", {}  # out of format: an error in judge.jsonl, no score
    adequacy, fluency = verdict(output, REFERENCE.search(prompt).group(1))
    return (
        200,
        json.dumps(
            {
                "adequacy": adequacy,
                "fluency": fluency,
                "right_language": True,
                "justification": f"{len(output)} characters",
            }
        ),
        {},
    )


@pytest.fixture(scope="module")
def adapter(curated, tiny_marian, tmp_path_factory):
    from curate.train.runner import TrainOptions, run_training

    out = tmp_path_factory.mktemp("judge") / "run"
    run_training(train_config(tiny_marian, curated, out, max_steps=10), TrainOptions())
    return out


def test_http_judge_scores_cache_and_secrets(cli, adapter, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("CURATE_CACHE_DIR", str(tmp_path / "cache"))
    with ScriptedServer(rule) as server:
        args = (
            "eval",
            "--adapter",
            adapter,
            "--split",
            "test",
            "--max-rows",
            "2",
            "--judge-url",
            server.url,
            "--judge-model",
            "judge-model",
        )
        done = cli(*args)
        assert done.code == 0, done.err
        sent = len(server.requests)
        again = cli(*args)  # the same questions: every answer comes from the cache
        assert again.code == 0 and len(server.requests) == sent
    outputs = [json.loads(line) for line in (adapter / "outputs-test.jsonl").read_text().splitlines()]
    records = [json.loads(line) for line in (adapter / "judge.jsonl").read_text().splitlines()]
    assert sent == len(records) == 2 * len(outputs)  # the base model's outputs and the tuned model's
    assert all(r["cached"] for r in records) and all(h["Authorization"] == f"Bearer {SECRET}" for h in server.headers)
    assert {r["against"] for r in records} == {"reference"}
    yiddish = [r for r in records if r["lang"] == "yid"]
    assert yiddish and all(r["error"] == "no JSON object in the answer" and r["score"] is None for r in yiddish)
    assert "warning: the judge gave no usable score for" in done.err
    comparison = json.loads((adapter / "eval-test.json").read_text())["comparison"]
    assert comparison["metrics"] == ["loss", "chrf", "bleu", "judge"]
    for row in comparison["sets"][0]["rows"]:
        if row["lang"] in ("all", "yid"):
            continue
        mine = [o for o in outputs if o["lang"] == row["lang"]]
        for model, key in (("tuned", "output"), ("base", "base_output")):
            expected = np.mean([sum(verdict(o[key], o["reference"])) / 2 for o in mine])
            assert row[model]["judge"] == round(float(expected), 3)
    assert next(r for r in comparison["sets"][0]["rows"] if r["lang"] == "yid")["tuned"]["judge"] is None
    for path in adapter.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".md", ".yaml"):
            assert SECRET not in path.read_text() and "127.0.0.1" not in path.read_text(), path
    card = (adapter / "README.md").read_text()
    assert "Judge: `judge-model` (http), judged against reference;" in card


def test_ratings_offline_with_agreement(cli, adapter, monkeypatch, tmp_path):
    from scipy.stats import kendalltau, spearmanr

    monkeypatch.setenv("CURATE_CACHE_DIR", str(tmp_path / "cache"))
    with ScriptedServer(rule) as server:
        done = cli(
            "eval",
            "--adapter",
            adapter,
            "--split",
            "test",
            "--max-rows",
            "3",
            "--judge-url",
            server.url,
            "--judge-model",
            "judge-model",
            "--rate",
            "2",
        )
    assert done.code == 0, done.err
    assert f"queued 11 outputs for rating in {adapter}/ratings; send them to Argilla with" in done.err  # yid has 1
    exported = cli("review", "export", adapter, tmp_path / "ratings.csv")
    assert exported.code == 0, exported.err
    with open(tmp_path / "ratings.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "_id",
        "set",
        "lang",
        "source",
        "output",
        "reference",
        "judge_score",
        "rating",
        "note",
        "annotator",
    ]
    assert sorted({r["lang"] for r in rows}) == ["deu", "fra", "gla", "spa", "swh", "yid"] and len(rows) == 11
    human = {r["_id"]: 1 + (len(r["source"]) * 7) % 5 for r in rows}  # a rater with a taste of her own
    for r in rows:
        r["rating"] = human[r["_id"]] if r["lang"] != "spa" else ""  # she skips Spanish
    with open(tmp_path / "ratings.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    imported = cli("review", "import", adapter, tmp_path / "ratings.csv", "--annotator", "olga")
    assert imported.code == 0, imported.err
    assert "imported 9 answers" in imported.out and "raters: olga" in imported.out
    report = json.loads((adapter / "ratings.json").read_text())
    paired = [(float(r["judge_score"]), human[r["_id"]]) for r in rows if r["lang"] != "spa" and r["judge_score"]]
    judge, people = zip(*paired)
    overall = report["overall"]
    assert (overall["queued"], overall["rated"], overall["paired"]) == (11, 9, len(paired))
    assert overall["human"] == round(float(np.mean([human[r["_id"]] for r in rows if r["lang"] != "spa"])), 3)
    assert overall["spearman"] == pytest.approx(spearmanr(judge, people).statistic, abs=1e-4)
    assert overall["kendall"] == pytest.approx(kendalltau(judge, people).statistic, abs=1e-4)
    assert overall["judge_higher"] == round(sum(j > h for j, h in paired) / len(paired), 4)
    spanish = next(g for g in report["languages"] if g["lang"] == "spa")
    assert (spanish["rated"], spanish["human"], spanish["spearman"]) == (0, None, None)
    assert "## Human ratings" in (adapter / "README.md").read_text()
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("_id,rating\n" + rows[0]["_id"] + ",9\n", encoding="utf-8")
    refused = cli("review", "import", adapter, wrong)
    assert refused.code == 1 and "rating '9' must be a whole number from 1 to 5" in refused.err


def test_a_local_chat_model_as_judge(cli, adapter, tmp_path):
    """The paraphrase step's tiny local chat model as the judge: it echoes Yiddish, not JSON, so every answer is
    kept in judge.jsonl with the reason it gave no score, and no judge column is made up."""
    import yaml

    from tests.augment.models import model

    config = yaml.safe_load((adapter / "train_config.yaml").read_text())
    config["judge"] = {
        "backend": "local",
        "model": str(model("qwen2-yid")),
        "max_new_tokens": 24,
        "max_rows_per_language": 1,
        "base": False,
    }
    (tmp_path / "with-judge.yaml").write_text(yaml.safe_dump(config))
    done = cli(
        "eval",
        tmp_path / "with-judge.yaml",
        "--adapter",
        adapter,
        "--split",
        "test",
        "--max-rows",
        "1",
        "--judge",
        "--out",
        tmp_path / "local",
    )
    assert done.code == 0, done.err
    records = [json.loads(line) for line in (tmp_path / "local" / "judge.jsonl").read_text().splitlines()]
    assert sorted((r["model"], r["lang"]) for r in records) == [
        ("tuned", lang) for lang in ("deu", "fra", "gla", "spa", "swh", "yid")
    ]
    assert all(isinstance(r["answer"], str) and r["score"] is None and r["error"] for r in records)
    assert "warning: the judge gave no usable score for 6 of 6 outputs (see judge.jsonl)" in done.err
    comparison = json.loads((tmp_path / "local" / "eval-test.json").read_text())["comparison"]
    assert comparison["metrics"] == ["loss", "chrf", "bleu"]

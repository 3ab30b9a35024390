"""Native speakers rate model outputs in a real Argilla 2.8 server: the queue `curate eval --rate` writes is pushed
with the judge's score as a suggestion, two raters answer through the REST API, `curate review pull` reports the
human scores per language and their agreement with the judge (checked against scipy on the same pairs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.review.test_argilla_e2e import _annotator, _http, _records

pytestmark = [pytest.mark.argilla, pytest.mark.slow]

OUTPUTS = [  # (language, source, output, reference, judge score)
    ("fra", "Good morning.", "Bonjour.", "Bonjour.", 5.0),
    ("fra", "Thank you very much.", "Merci bien.", "Merci beaucoup.", 4.5),
    ("fra", "Where is the station?", "Où la gare ?", "Où est la gare ?", 4.0),
    ("fra", "I like tea.", "J'aime le café.", "J'aime le thé.", 4.0),
    ("swh", "I am hungry.", "Nina njaa.", "Nina njaa.", 5.0),
    ("swh", "Water, please.", "Maji tafadhali.", "Maji, tafadhali.", 4.5),
    ("swh", "Are you sure?", "Una uhakika?", "Je, una uhakika?", 3.0),
    ("swh", "See you tomorrow.", "Tutaonana kesho kesho kesho.", "Tutaonana kesho.", 3.5),
]
OLGA = {
    "Bonjour.": 5,
    "Merci bien.": 4,
    "Où la gare ?": 2,
    "J'aime le café.": 1,
    "Nina njaa.": 5,
    "Maji tafadhali.": 5,
    "Una uhakika?": 4,
    "Tutaonana kesho kesho kesho.": 2,
}
AMANI = {"Nina njaa.": 4, "Maji tafadhali.": 5, "Una uhakika?": 3, "Tutaonana kesho kesho kesho.": 1}


def _queue(folder: Path) -> None:
    from curate.review.ratings import write_rating_queue

    rows = [
        {"set": "test", "_id": f"row{i}", "lang": lang, "input": src, "output": out, "reference": ref}
        for i, (lang, src, out, ref, _) in enumerate(OUTPUTS)
    ]
    judged = [
        {"set": "test", "_id": f"row{i}", "model": "tuned", "score": score} for i, (*_, score) in enumerate(OUTPUTS)
    ]
    assert write_rating_queue(folder, rows, judged, per_language=4, name="tiny-mt", seed=13) == 8


def _rate(server, key: str, record: dict, value: int) -> None:
    _http(
        server,
        "POST",
        f"/api/v1/records/{record['id']}/responses",
        key=key,
        json={"status": "submitted", "values": {"rating": {"value": value}}},
    )


def test_ratings_through_argilla(tmp_path, cli, argilla_env):
    from scipy.stats import kendalltau, spearmanr

    server, folder = argilla_env, tmp_path / "out" / "train" / "tiny-mt"
    _queue(folder)
    pushed = cli("review", "push", folder)
    assert pushed.code == 0 and "8 rows in Argilla dataset 'tiny-mt-ratings'" in pushed.out, pushed
    records = _records(server, "tiny-mt-ratings")
    by_output = {r["fields"]["output"]: r for r in records.values()}
    assert set(by_output) == set(OLGA)
    french = by_output["Où la gare ?"]
    assert french["fields"] == {
        "source": "Where is the station?",
        "output": "Où la gare ?",
        "reference": "Où est la gare ?",
    }
    assert french["metadata"] == {"lang": "fra", "set": "test", "judge_score": 4.0}
    suggestions = _http(server, "GET", f"/api/v1/records/{french['id']}/suggestions")["items"]
    assert [(s["value"], s["agent"]) for s in suggestions] == [(4, "curate")]
    again = cli("review", "push", folder)
    assert again.code == 0 and "nothing new to send" in again.out and len(_records(server, "tiny-mt-ratings")) == 8

    olga, amani = _annotator(server, "olga"), _annotator(server, "amani")
    for output, value in OLGA.items():
        _rate(server, olga, by_output[output], value)
    for output, value in AMANI.items():
        _rate(server, amani, by_output[output], value)
    pulled = cli("review", "pull", folder)
    assert pulled.code == 0, pulled
    assert (
        "pulled 12 responses from Argilla dataset 'tiny-mt-ratings'" in pulled.out
        and "raters: amani, olga" in pulled.out
    )
    report = json.loads((folder / "ratings.json").read_text())
    judge = {out: score for _, _, out, _, score in OUTPUTS}
    for lang, group in (("fra", report["languages"][0]), ("swh", report["languages"][1])):
        mine = [out for code, _, out, _, _ in OUTPUTS if code == lang]
        human = [np.mean([r[o] for r in (OLGA, AMANI) if o in r]) for o in mine]
        scores = [judge[o] for o in mine]
        assert (group["lang"], group["queued"], group["rated"]) == (lang, 4, 4)
        assert group["human"] == round(float(np.mean(human)), 3) and group["judge"] == round(float(np.mean(scores)), 3)
        assert group["spearman"] == pytest.approx(spearmanr(scores, human).statistic, abs=1e-4)
        assert group["kendall"] == pytest.approx(kendalltau(scores, human).statistic, abs=1e-4)
        assert group["judge_higher"] == sum(j > h for j, h in zip(scores, human)) / 4
    assert report["overall"]["ratings"] == 12 and report["raters"] == ["amani", "olga"]
    assert report["languages"][0]["judge_higher"] == 0.75  # the judge is kinder than Olga to three French outputs
    assert (folder / "ratings.md").read_text().startswith("Native speakers' ratings (1-5")
    status = cli("review", "status", folder)
    assert status.code == 0 and "ratings: 8 rows queued (per language 4) of 8" in status.out, status
    assert server.api_key not in pulled.out + status.out + (folder / "ratings.json").read_text()

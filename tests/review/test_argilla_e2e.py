"""The review loop against a real Argilla 2.8 server: push from a curate run, two annotators answer through the
REST API (a rejection, a correction, a tie, a discard), pull with `curate run --resume`, check data, rejects, lineage.
Also: pushing twice makes no duplicates, an interrupted push resumes, a wrong key or a dead server is a clear error
that never shows the key."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import write_jsonl, write_recipe

pytestmark = [pytest.mark.argilla, pytest.mark.slow]

ROWS = [  # (text, target, language of target, langid-like score)
    ("Good morning.", "Bonjour.", "fra", 0.99),
    ("Thank you very much.", "Merci beaucoup.", "fra", 0.98),
    ("Where is the station?", "Où est la gare ?", "fra", 0.97),
    ("I like tea.", "Me gusta el té.", "fra", 0.31),  # labelled French, is Spanish: low score
    ("The cat sleeps.", "Die Katze schläft.", "deu", 0.99),
    ("It is raining.", "Es regnet.", "deu", 0.97),
    ("See you tomorrow.", "Bis morgen.", "deu", 0.96),
    ("How old are you?", "Wie alt bist du", "deu", 0.95),
    ("Are you sure?", "Je, una uhakika?", "swh", 0.93),
    ("I am hungry.", "Nina njaa.", "swh", 0.92),
    ("Water, please.", "Maji, tafadhali.", "swh", 0.42),
    ("Call me at 0612345678.", "Nipigie kwa 0612345678.", "swh", 0.90),
]
RECIPE = """
name: review-e2e
seed: 7
sources:
  - path: {data}
    columns: {{text: en, target: xx}}
steps:
  - normalize: {{fields: [text, target]}}
  - review:
      sample: 2
      by: lang
      low_confidence: 1.0
      confidence: score
      below: 0.5
      fields: [text, target]
      correct: [target]
      metadata: [score]
      annotators: 2
      dataset: {dataset}
output:
  dir: {out}
"""


def _recipe(tmp_path: Path, dataset: str = "e2e-review") -> tuple[Path, Path]:
    data = write_jsonl(
        tmp_path / "pairs.jsonl", [{"en": t, "xx": x, "lang": lang, "score": s} for t, x, lang, s in ROWS]
    )
    out = tmp_path / "out"
    return write_recipe(tmp_path / "recipe.yaml", RECIPE.format(data=data, out=out, dataset=dataset)), out


def _http(server, method: str, path: str, key: str | None = None, **kwargs):
    import requests

    response = requests.request(
        method, server.url + path, headers={"X-Argilla-Api-Key": key or server.api_key}, timeout=30, **kwargs
    )
    assert response.status_code < 300, (method, path, response.status_code, response.text)
    return response.json() if response.content else None


def _annotator(server, name: str) -> str:
    """An annotator in the owner's workspace; returns its API key."""
    user = _http(
        server,
        "POST",
        "/api/v1/users",
        json={"username": name, "password": "annotator-pw-123", "first_name": name, "role": "annotator"},
    )
    workspace = next(w for w in _http(server, "GET", "/api/v1/me/workspaces")["items"] if w["name"] == "argilla")
    _http(server, "POST", f"/api/v1/workspaces/{workspace['id']}/users", json={"user_id": user["id"]})
    return user["api_key"]


def _records(server, dataset_name: str) -> dict[str, dict]:
    """external id -> record, read as the owner."""
    datasets = _http(server, "GET", "/api/v1/me/datasets")["items"]
    dataset = next(d for d in datasets if d["name"] == dataset_name)
    items = _http(server, "GET", f"/api/v1/datasets/{dataset['id']}/records", params={"limit": 1000})["items"]
    return {r["external_id"]: r for r in items}


def _answer(server, key: str, record: dict, decision: str | None, status: str = "submitted", **values) -> None:
    body: dict = {"status": status}
    if decision is not None:
        body["values"] = {"decision": {"value": decision}, **{k: {"value": v} for k, v in values.items()}}
    _http(server, "POST", f"/api/v1/records/{record['id']}/responses", key=key, json=body)


def _queue(out: Path) -> pl.DataFrame:
    return pl.read_parquet(next(out.glob(".curate/*-review-*/review/queue.parquet")))


def test_review_loop_end_to_end(tmp_path, cli, argilla_env):
    server = argilla_env
    recipe, out = _recipe(tmp_path)

    stopped = cli("run", recipe)
    assert stopped.code == 3, stopped
    assert "pushed to Argilla dataset 'e2e-review'" in stopped.err and "--resume" in stopped.err
    assert server.api_key not in stopped.err + stopped.out

    queue = _queue(out)
    by_text = {row["text"]: row["_id"] for row in queue.iter_rows(named=True)}
    sampled = queue.filter(pl.col("_why").list.contains("sample"))
    assert sampled.group_by("lang").len().sort("lang").rows() == [("deu", 2), ("fra", 2), ("swh", 2)]
    assert {"I like tea.", "Water, please."} <= set(by_text)  # every row under the score threshold
    assert queue.height == sampled.height + queue.filter(~pl.col("_why").list.contains("sample")).height
    records = _records(server, "e2e-review")
    assert sorted(records) == sorted(queue["_id"].to_list())  # record id = row _id
    spanish = records[by_text["I like tea."]]
    assert spanish["metadata"]["lang"] == "fra" and "low_confidence" in spanish["metadata"]["why"]
    assert spanish["fields"] == {"text": "I like tea.", "target": "Me gusta el té."}

    again = cli("review", "push", out)  # nothing new; --again re-sends: still no duplicates
    assert again.code == 0 and "nothing new to send" in again.out, again
    assert cli("review", "push", out, "--again").code == 0
    assert len(_records(server, "e2e-review")) == queue.height

    ann1, ann2 = _annotator(server, "ann1"), _annotator(server, "ann2")
    ids = queue["_id"].to_list()
    reject_id = by_text["I like tea."]
    fix_id, tie_id, discard_id = [i for i in ids if i != reject_id][:3]
    fix_row = queue.filter(pl.col("_id") == fix_id).row(0, named=True)
    records = _records(server, "e2e-review")
    for key in (ann1, ann2):  # both reject the mislabelled row; both fix the same target
        _answer(server, key, records[reject_id], "reject", issues=["wrong_language"])
        _answer(server, key, records[fix_id], "accept", corrected_target=fix_row["target"] + " (fixed)")
    _answer(server, ann1, records[tie_id], "accept")
    _answer(server, ann2, records[tie_id], "reject", issues=["bad_translation"], note="not what it says")
    _answer(server, ann1, records[discard_id], "accept")
    _answer(server, ann2, records[discard_id], None, status="discarded")

    status = cli("review", "status", out)
    assert status.code == 0 and f"{queue.height} rows queued" in status.out, status

    resumed = cli("run", recipe, "--resume")
    assert resumed.code == 0, resumed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["accounting"]["ok"]
    step = next(s for s in manifest["steps"] if s["name"] == "review")
    assert step["reasons"] == {"review:rejected": 2}
    assert step["stats"] == {"review:accepted": 1, "review:corrected": 1, "review:pending_kept": queue.height - 4}

    data = pl.read_parquet(str(out / "data" / "*.parquet"))
    fixed = data.filter(pl.col("_id") == fix_id).row(0, named=True)
    assert fixed["target"] == fix_row["target"] + " (fixed)" and fixed["target_before_review"] == fix_row["target"]
    assert fixed["_reviewed"] is True
    assert data.filter(pl.col("_id") == discard_id)["_reviewed"].to_list() == [True]
    assert data["_reviewed"].sum() == 2 and data.height == len(ROWS) - 2
    rejects = pl.read_parquet(next((out / "rejects").glob("*review*.parquet")))
    reasons = dict(zip(rejects["_id"], rejects["_detail"]))
    assert set(rejects["_reason"]) == {"review:rejected"}
    assert reasons[reject_id] == "2 of 2 reviewers rejected; issues: wrong_language"
    assert reasons[tie_id] == "1 of 2 reviewers rejected; issues: bad_translation; note: not what it says"

    summary = json.loads((out / "review.json").read_text())
    assert summary["agreement"]["rows_with_several_votes"] == 3
    assert summary["agreement"]["unanimous"] == pytest.approx(2 / 3, abs=1e-3)
    assert summary["agreement"]["annotators"]["ann1"]["votes"] == 4
    assert server.api_key not in json.dumps(summary) + (out / "manifest.json").read_text()

    lineage = cli("trace", out, fix_id)
    assert "changed target" in lineage.out and "target_before_review" in lineage.out, lineage

    # a late answer on a finished run: pull reopens it, --resume applies it
    pending_id = next(i for i in ids if i not in (reject_id, fix_id, tie_id, discard_id))
    _answer(server, ann1, _records(server, "e2e-review")[pending_id], "reject", issues=["other"])
    pulled = cli("review", "pull", out)
    assert pulled.code == 0 and "reopened" in pulled.out, pulled
    assert cli("run", recipe, "--resume").code == 0
    rejects = pl.read_parquet(next((out / "rejects").glob("*review*.parquet")))
    assert pending_id in rejects["_id"].to_list()


def test_interrupted_push_resumes_without_duplicates(tmp_path, cli, argilla_env, monkeypatch):
    import httpx
    from argilla.records._dataset_records import DatasetRecords

    from curate.review import argilla_client

    recipe, out = _recipe(tmp_path, dataset="e2e-interrupted")
    recipe.write_text(recipe.read_text().replace("      annotators: 2\n", "      annotators: 2\n      push: false\n"))
    assert cli("run", recipe).code == 3
    total = _queue(out).height
    real, calls = DatasetRecords.log, []

    def dies_after_one_batch(self, records, **kwargs):
        calls.append(len(records))
        if len(calls) > 1:
            raise httpx.ConnectError("[Errno 111] Connection refused")  # the server went down half way
        return real(self, records, **kwargs)

    monkeypatch.setattr(argilla_client, "PUSH_BATCH", 3)
    monkeypatch.setattr(DatasetRecords, "log", dies_after_one_batch)
    broken = cli("review", "push", out)
    assert broken.code == 1, broken
    assert "could not push records 4-6 to 'e2e-interrupted': Argilla at" in broken.err
    assert "did not answer after 3 tries" in broken.err and len(calls) == 4  # one good batch, then 3 tries
    state = json.loads(next(out.glob(".curate/*-review-*/review/push.json")).read_text())
    assert state["sent"] == 3 and not state["done"]
    assert len(_records(argilla_env, "e2e-interrupted")) == 3

    monkeypatch.setattr(DatasetRecords, "log", real)
    resumed = cli("review", "push", out)
    assert resumed.code == 0 and f"{total - 3} records sent" in resumed.out, resumed
    assert len(_records(argilla_env, "e2e-interrupted")) == total


def test_wrong_key_is_a_clear_error_without_the_key(tmp_path, cli, argilla_env, monkeypatch):
    recipe, _ = _recipe(tmp_path, dataset="e2e-key")
    monkeypatch.setenv("ARGILLA_API_KEY", "not-the-right-key-123")
    result = cli("run", recipe)
    assert result.code == 1
    assert "refused the API key in ARGILLA_API_KEY" in result.err
    assert "not-the-right-key-123" not in result.err + result.out


def test_the_memory_engine_answers_the_annotator_uis_queries(tmp_path, cli, argilla_env):
    """What Argilla's web UI asks while an annotator works: the pending queue, metadata filters and sorting, the
    metrics and the progress. (The in-memory engine stands in for Elasticsearch in these tests.)"""
    server = argilla_env
    recipe, out = _recipe(tmp_path, dataset="e2e-ui")
    assert cli("run", recipe).code == 3
    total = _queue(out).height
    key = _annotator(server, "ui-annotator")
    dataset = next(d for d in _http(server, "GET", "/api/v1/me/datasets")["items"] if d["name"] == "e2e-ui")
    search = f"/api/v1/me/datasets/{dataset['id']}/records/search"

    def ids(body: dict) -> list[str]:
        found = _http(server, "POST", search, key=key, json=body)
        return [item["record"]["external_id"] for item in found["items"]]

    pending = {"type": "terms", "scope": {"entity": "response", "property": "status"}, "values": ["pending"]}
    assert len(ids({"filters": {"and": [pending]}})) == total
    first = _records(server, "e2e-ui")[ids({"filters": {"and": [pending]}})[0]]
    _answer(server, key, first, "accept")
    assert len(ids({"filters": {"and": [pending]}})) == total - 1
    submitted = {"type": "terms", "scope": {"entity": "response", "property": "status"}, "values": ["submitted"]}
    assert ids({"filters": {"and": [submitted]}}) == [first["external_id"]]
    french = {"type": "terms", "scope": {"entity": "metadata", "metadata_property": "lang"}, "values": ["fra"]}
    low = {"type": "range", "scope": {"entity": "metadata", "metadata_property": "score"}, "le": 0.5}
    queue = _queue(out)
    assert sorted(ids({"filters": {"and": [french, low]}})) == sorted(
        queue.filter((pl.col("lang") == "fra") & (pl.col("score") <= 0.5))["_id"].to_list()
    )
    by_score = ids({"sort": [{"scope": {"entity": "metadata", "metadata_property": "score"}, "order": "asc"}]})
    assert by_score == queue.sort("score")["_id"].to_list()
    assert ids({"query": {"text": {"q": "tea"}}}) == queue.filter(pl.col("text") == "I like tea.")["_id"].to_list()
    metrics = _http(server, "GET", f"/api/v1/me/datasets/{dataset['id']}/metrics", key=key)
    assert metrics["responses"]["submitted"] == 1 and metrics["responses"]["pending"] == total - 1
    progress = _http(server, "GET", f"/api/v1/datasets/{dataset['id']}/progress")
    assert progress["total"] == total
    terms = _http(server, "GET", f"/api/v1/metadata-properties/{_property(server, dataset, 'lang')}/metrics")
    assert {v["term"] for v in terms["values"]} == set(queue["lang"])


def _property(server, dataset: dict, name: str) -> str:
    items = _http(server, "GET", f"/api/v1/me/datasets/{dataset['id']}/metadata-properties")["items"]
    return next(p["id"] for p in items if p["name"] == name)

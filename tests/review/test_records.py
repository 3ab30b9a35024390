import polars as pl
import pytest

from curate.review import records as rec

TAG = pl.List(pl.Struct({"kind": pl.String, "start": pl.Int64, "end": pl.Int64}))
QUEUE = pl.DataFrame(
    {
        "_id": ["r1", "r2", "r3", "r4"],
        "_why": [["sample"], ["low_confidence"], ["pii"], ["pii"]],
        "text": ["Where is the station?", "I like tea.", "Mail anna@example.org now.", "Mail <EMAIL> now."],
        "target": ["Где вокзал?", "Me gusta el té.", None, ""],
        "text_lang": ["eng", "eng", "eng", "eng"],
        "text_lang_score": [0.99, 0.31, 0.95, None],
        "text_lang_flag": [None, None, None, "langid:unexpected"],
        "_source": ["a.jsonl"] * 4,
        "_parent_text": [None, None, None, None],
        "text_pii": [[], [], [{"kind": "email", "start": 5, "end": 22}], [{"kind": "email", "start": 5, "end": 12}]],
    },
    schema_overrides={"text_pii": TAG, "_parent_text": pl.String},
)


def _suggested() -> pl.DataFrame:
    return rec.add_suggestions(
        QUEUE,
        field="text",
        confidence="text_lang_score",
        below=0.8,
        lang_flag="text_lang_flag",
        pii_column="text_pii",
        labels=["wrong_language", "pii_left", "other"],
    )


def test_suggestions_come_from_the_pipelines_scores():
    s = _suggested()
    assert s["_suggest_issues"].to_list() == [[], ["wrong_language"], ["pii_left"], ["wrong_language"]]
    assert s["_suggest_decision"].to_list() == ["accept", "reject", "reject", "reject"]
    scores = s["_suggest_score"].to_list()
    assert scores[0] == pytest.approx(0.99) and scores[1] == pytest.approx(0.69) and scores[3] is None


def _spec(queue: pl.DataFrame) -> dict:
    return rec.build_spec(
        dataset="d",
        workspace=None,
        queue=queue,
        fields=["text", "target", "context"],
        correct=["text", "target"],
        labels=["wrong_language", "other"],
        metadata=["text_lang", "_source", "_origin", "_why", "text_lang_score"],
        annotators=2,
        prefill=True,
        guidelines="g",
        selection={},
    )


def test_spec_leaves_out_empty_fields_and_metadata():
    spec = _spec(_suggested())
    assert [(f["name"], f["required"]) for f in spec["fields"]] == [("text", True), ("target", False)]
    assert [(m["name"], m["kind"]) for m in spec["metadata"]] == [
        ("text_lang", "terms"),
        ("source", "terms"),
        ("why", "terms"),
        ("text_lang_score", "float"),
    ]
    assert spec["correct"] == ["text", "target"]
    assert rec.question_names(spec) == ["decision", "corrected_text", "corrected_target", "issues", "note"]


def test_record_dicts_have_fields_metadata_and_suggestions():
    queue = _suggested()
    r = rec.record_dicts(queue, _spec(queue))
    assert r[1] == {
        "id": "r2",
        "fields": {"text": "I like tea.", "target": "Me gusta el té."},
        "metadata": {"text_lang": "eng", "source": "a.jsonl", "why": ["low_confidence"], "text_lang_score": 0.31},
        "suggestions": [
            {"question": "decision", "value": "reject", "score": pytest.approx(0.69)},
            {"question": "issues", "value": ["wrong_language"], "score": None},
            {"question": "corrected_text", "value": "I like tea.", "score": None},
            {"question": "corrected_target", "value": "Me gusta el té.", "score": None},
        ],
    }
    assert r[2]["fields"] == {"text": "Mail anna@example.org now."}  # a null target is left out
    assert "text_lang_score" not in r[3]["metadata"]
    empty = rec.record_dicts(queue.with_columns(pl.lit("  ").alias("text")).head(1), _spec(queue))
    assert empty[0]["fields"]["text"] == rec.EMPTY  # a required field can't be empty in Argilla


def test_guidelines_explain_the_choice_and_the_questions():
    text = rec.guidelines(
        ["text", "target"],
        ["target"],
        ["wrong_language", "other"],
        {"sample": 50, "pii": 1.0},
        "text_lang",
        {"name": "news", "description": "News pairs.", "steps": [{"langid": {}}, {"pii": {}}]},
        "Names of public figures are fine.",
    )
    assert text.startswith(
        "# Review of `news`\n\nNews pairs.\n\nThe rows went through these steps before you see them: `langid`, `pii`."
    )
    assert "- a random sample (50 per text_lang)" in text and "- rows in which personal data was found (100%)" in text
    assert "**Corrected target** (optional)" in text and "`wrong_language`:" in text
    assert text.endswith("## From the dataset's maintainers\n\nNames of public figures are fine.")


def test_records_build_with_the_sdk():  # the settings need a client: see test_argilla_e2e.py
    pytest.importorskip("argilla")
    queue = _suggested()
    made = rec.records(queue, _spec(queue))
    assert [r.id for r in made] == ["r1", "r2", "r3", "r4"]
    assert made[1].suggestions["decision"].value == "reject" and made[1].suggestions["decision"].agent == "curate"
    assert made[1].metadata["why"] == ["low_confidence"]

"""The `pii` step: every action, offsets checked against the text, exact reasons, config errors, and a run through
the CLI whose manifest and card hold counts per kind and no personal value."""

import json

import polars as pl
import pytest
from pydantic import ValidationError

from curate.core.errors import CurateError
from curate.stages.pii import Pii
from tests.conftest import write_jsonl, write_recipe

# Real text in several scripts (Tatoeba / presidio test sentences) with PII planted in it.
ROWS = [
    "My email address is info@presidio.site and my card is 4012-8888-8888-1881.",
    "Écrivez-moi à jean.dupont@exemple.fr ou appelez le +33 6 12 34 56 78.",
    "مرحبا، عنوان IP الخاص بي هو 192.168.0.1 ورقم الحساب DE89 3704 0044 0532 0130 00",
    "我的比特币地址是 16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ，请确认。",
    "Tom war einer meiner besten Schüler.",
    None,
]


def run(texts=ROWS, **params):
    step = Pii.from_dict({"fields": ["text"], **params})
    return step.process(
        pl.DataFrame(
            {"_id": [str(i) for i in range(len(texts))], "text": texts}, schema={"_id": pl.String, "text": pl.String}
        )
    )


def spans(frame, field="text"):
    """(kind, the text at the offsets) per row: checks offsets against the text as written."""
    out = []
    for text, tags in zip(frame[field].to_list(), frame[f"{field}_pii"].to_list()):
        out.append(None if tags is None else [(t["kind"], text[t["start"] : t["end"]]) for t in tags])
    return out


def test_tag_lists_kinds_with_character_offsets():
    result = run(action="tag")
    assert result.kept["text"].to_list() == ROWS
    assert spans(result.kept) == [
        [("email", "info@presidio.site"), ("credit_card", "4012-8888-8888-1881")],
        [("email", "jean.dupont@exemple.fr"), ("phone", "+33 6 12 34 56 78")],
        [("ip", "192.168.0.1"), ("iban", "DE89 3704 0044 0532 0130 00")],
        [("crypto", "16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ")],
        [],
        None,
    ]
    tags = result.kept["text_pii"].to_list()
    assert tags[3] == [{"kind": "crypto", "start": 9, "end": 43}]  # characters after CJK (bytes would be 25)
    assert result.kept.schema["text_pii"] == pl.List(pl.Struct({"kind": pl.String, "start": pl.Int64, "end": pl.Int64}))
    assert result.rejected.height == 0
    assert dict(result.stats) == {
        "pii:email": 2,
        "pii:credit_card": 1,
        "pii:phone": 1,
        "pii:ip": 1,
        "pii:iban": 1,
        "pii:crypto": 1,
        "pii_rows": 4,
    }


def test_mask_writes_tokens_and_points_at_them():
    result = run()  # mask is the default action
    assert result.kept["text"].to_list() == [
        "My email address is <EMAIL> and my card is <CREDIT_CARD>.",
        "Écrivez-moi à <EMAIL> ou appelez le <PHONE>.",
        "مرحبا، عنوان IP الخاص بي هو <IP> ورقم الحساب <IBAN>",
        "我的比特币地址是 <CRYPTO>，请确认。",
        "Tom war einer meiner besten Schüler.",
        None,
    ]
    assert spans(result.kept)[:4] == [
        [("email", "<EMAIL>"), ("credit_card", "<CREDIT_CARD>")],
        [("email", "<EMAIL>"), ("phone", "<PHONE>")],
        [("ip", "<IP>"), ("iban", "<IBAN>")],
        [("crypto", "<CRYPTO>")],
    ]


def test_pseudonymize_is_stable_and_keyed(monkeypatch):
    monkeypatch.setenv("CURATE_PII_KEY", "s3cret-key")
    texts = [
        "Mail jane@example.org today",
        "again: jane@example.org, and bob@example.org",
        "card 4111 1111 1111 1111",
        "card 4111-1111-1111-1111",
    ]
    out = run(texts, action="pseudonymize").kept
    a, b, c, d = out["text"].to_list()
    token = a.split()[1]
    assert token.startswith("<EMAIL_") and token.endswith(">")
    assert b.split()[1].rstrip(",") == token  # the same person stays the same token
    assert b.split()[-1] != token
    assert c.split()[1] == d.split()[1]  # the same card however it is written
    assert [s for row in spans(out) for _, s in row] == [token, token, b.split()[-1], c.split()[1], d.split()[1]]
    monkeypatch.setenv("CURATE_PII_KEY", "another-key")
    assert run(texts, action="pseudonymize").kept["text"][0] != a


def test_pseudonymize_without_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("MY_PII_KEY", raising=False)
    with pytest.raises(CurateError, match="MY_PII_KEY.*not set"):
        run(action="pseudonymize", pseudonymize_key_env="MY_PII_KEY")


def test_drop_rejects_with_exact_reasons_and_redacts():
    result = run(action="tag", actions={"iban": "drop", "credit_card": "drop", "crypto": "drop"})
    assert result.kept["_id"].to_list() == ["1", "4", "5"]
    assert result.rejected["_id"].to_list() == ["0", "2", "3"]
    assert result.rejected["_reason"].to_list() == ["pii:credit_card", "pii:iban", "pii:crypto"]
    assert result.rejected["_detail"].to_list() == ["email: 1, credit_card: 1", "ip: 1, iban: 1", "crypto: 1"]
    # rejects hold no PII either: every span masked, offsets at the tokens
    assert result.rejected["text"][1] == "مرحبا، عنوان IP الخاص بي هو <IP> ورقم الحساب <IBAN>"
    assert spans(result.rejected)[1] == [("ip", "<IP>"), ("iban", "<IBAN>")]
    # the kept rows keep their own actions
    assert result.kept["text"][0] == ROWS[1]
    kept_raw = run(action="drop", redact_rejects=False)
    assert kept_raw.rejected["text"][0] == ROWS[0]


def test_per_kind_actions_and_groups():
    texts = ["SSN 078-05-1123, DNI 12345678Z, mail a@b.io", "plain"]
    out = run(texts, action="tag", actions={"national_id": "mask", "es_dni": "tag"}).kept
    assert out["text"][0] == "SSN <US_SSN>, DNI 12345678Z, mail a@b.io"
    out = run(texts, kinds=["national_id"]).kept
    assert out["text"][0] == "SSN <US_SSN>, DNI <ES_DNI>, mail a@b.io"


def test_region_hints_from_a_country_or_language_column():
    frame = pl.DataFrame(
        {
            "text": ["Appelez le 06 12 34 56 78", "Appelez le 06 12 34 56 78", "Ruf 030 1234567 an"],
            "country": ["FR", None, None],
            "text_lang": [None, "fra", "deu"],
        }
    )
    step = Pii.from_dict({"action": "tag", "region_column": "country", "phones": "strict"})
    out = step.process(frame).kept
    assert spans(out) == [[("phone", "06 12 34 56 78")], [("phone", "06 12 34 56 78")], [("phone", "030 1234567")]]
    # strict without hints: only +numbers; the recipe's regions are tried after the row's own
    bare = frame.select("text")
    assert spans(Pii.from_dict({"action": "tag", "phones": "strict"}).process(bare).kept) == [[], [], []]
    german = Pii.from_dict({"action": "tag", "phones": "strict", "regions": ["de"]}).process(bare).kept
    assert spans(german)[2] == [("phone", "030 1234567")]
    # lenient (the default): "Appelez" is a context word, 06 12 34 56 78 is written the French way and 030 1234567
    # the German way (the trunk prefix 0, then two groups)
    assert spans(Pii.from_dict({"action": "tag"}).process(bare).kept) == spans(out)


def test_fields_default_to_every_text_column_but_tags():
    from curate.stages.base import StepContext

    frame = pl.DataFrame(
        {
            "_id": ["a"],
            "_source": ["x@y.org"],
            "text": ["a@b.io"],
            "target": ["c@d.io"],
            "author": ["e@f.io"],
            "text_lang": ["eng"],
            "n": [1],
            "text_before_review": ["g@h.io"],
        }
    )
    step = Pii.from_dict({}, StepContext(index=2, tags=frozenset({"text_lang", "text_lang_score", "_reviewed"})))
    assert step.fields_of(frame) == ["text", "target", "author", "text_before_review"]  # not text_lang, not _source
    out = step.process(frame).kept
    assert out.row(0, named=True) == {
        "_id": "a",
        "_source": "x@y.org",
        "text": "<EMAIL>",
        "target": "<EMAIL>",
        "author": "<EMAIL>",
        "text_lang": "eng",
        "n": 1,
        "text_before_review": "<EMAIL>",
        **{
            f"{f}_pii": [{"kind": "email", "start": 0, "end": 7}]
            for f in ("text", "target", "author", "text_before_review")
        },
    }
    assert Pii.from_dict({"fields": ["text"]}).process(frame).kept["author"][0] == "e@f.io"  # `fields` narrows
    # a column named for phone numbers is context for each of its values, in lenient mode
    contacts = pl.DataFrame({"mobile_no": ["09171234567"], "ref": ["09171234567"]})
    assert Pii.from_dict({}).process(contacts).kept.row(0) == (
        "<PHONE>",
        "09171234567",
        [{"kind": "phone", "start": 0, "end": 7}],
        [],
    )
    assert Pii.from_dict({}).process(pl.DataFrame({"text": ["x"]})).kept.columns == ["text", "text_pii"]


def test_scrub_masks_the_rejects_of_earlier_steps():
    rejects = pl.DataFrame(
        {
            "_id": ["1", "2"],
            "_source": ["in.jsonl"] * 2,
            "_step": ["read", "langid"],
            "_reason": ["unparseable", "langid:unexpected"],
            "_raw": ['{"text": "call +44 20 7946 0958', None],
            "_detail": ["Expecting ',' delimiter", None],
            "text": [None, "Écrivez à jean.dupont@exemple.fr"],
            "author": [None, "GB82 WEST 1234 5698 7654 32"],
        }
    )
    step = Pii.from_dict({"action": "tag", "actions": {"email": "mask"}})
    out = step.scrub(rejects)
    assert out.columns == rejects.columns  # no tag columns
    assert out["_raw"].to_list() == ['{"text": "call <PHONE>', None]  # rejects: every span masked
    assert out["text"].to_list() == [None, "Écrivez à <EMAIL>"]
    assert out["author"].to_list() == [None, "<IBAN>"]
    assert out.select("_id", "_source", "_step", "_reason", "_detail").equals(
        rejects.select("_id", "_source", "_step", "_reason", "_detail")
    )
    # redact_rejects: false applies the actions, as to kept rows
    assert Pii.from_dict({"action": "tag", "actions": {"email": "mask"}, "redact_rejects": False}).scrub(rejects)[
        "author"
    ].to_list() == [None, "GB82 WEST 1234 5698 7654 32"]


def test_scrub_drops_the_bytes_of_records_no_encoding_read():
    """`_raw_bytes` holds a record that is not text in any encoding tried: it can't be scanned, so it goes."""
    rejects = pl.DataFrame(
        {
            "_id": ["1"],
            "_reason": ["unparseable"],
            "_raw": [None],
            "_detail": ["invalid UTF-8"],
            "_raw_bytes": [b'{"text": "mail jean.dupont@exemple.fr \xff"}'],
        }
    )
    out = Pii.from_dict({}).scrub(rejects)
    assert out.columns == rejects.columns and out["_raw_bytes"].to_list() == [None]


def test_requires_and_produces():
    step = Pii.from_dict({"fields": ["text", "target"], "region_column": "country"})
    assert step.requires() == ["text", "target", "country"]
    assert step.produces() == ["text_pii", "target_pii"]
    assert Pii.from_dict({}).requires() == []


@pytest.mark.parametrize(
    "params, message",
    [
        ({"kinds": ["emial"]}, "unknown PII kind 'emial'"),
        ({"kinds": ["person"]}, "names and addresses need `ner"),
        ({"actions": {"phone": "erase"}}, "actions.phone"),
        ({"kinds": ["email"], "actions": {"phone": "drop"}}, "not among the kinds searched"),
        ({"regions": ["FR", "XX"]}, "unknown region 'XX'"),
        ({"phones": "loose"}, "phones"),
        ({"ner": {"backend": "flair", "model": "x"}}, "ner.backend"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_config_errors(params, message):
    with pytest.raises(ValidationError, match=message):
        Pii.Config.model_validate(params)


def test_ner_kinds_need_the_backend_installed(monkeypatch):
    import sys

    from curate.core.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "spacy", None)
    step = Pii.from_dict({"ner": {"backend": "spacy", "model": "en_core_web_sm"}})
    assert step.kinds[-1] == "person"
    with pytest.raises(MissingDependencyError, match=r"pip install 'curate\[pii-ner\]'"):
        step.setup()


@pytest.mark.slow
def test_quickstart_style_run_scrubs_and_reports_counts_only(tmp_path, cli):
    planted = [
        "Call me at +44 20 7946 0958.",
        "Mail jane.doe@example.org please.",
        "Card 5555-5555-5555-4444.",
        "My IBAN is GB82 WEST 1234 5698 7654 32.",
        "I need help.",
        "Server 203.0.113.7 is down.",
    ]
    write_jsonl(tmp_path / "pairs.jsonl", [{"src": t, "tgt": "Bonjour."} for t in planted])
    recipe = write_recipe(
        tmp_path / "r.yaml",
        """
name: pii-test
sources:
  - path: pairs.jsonl
    columns: {text: src, target: tgt}
steps:
  - pii: {fields: [text, target], action: mask, actions: {credit_card: drop}}
output:
  dir: out
""",
    )
    result = cli("run", str(recipe), cwd=tmp_path)
    assert result.code == 0, result
    data = pl.read_parquet(tmp_path / "out" / "data" / "*.parquet").sort("_row")
    assert data["text"].to_list() == [
        "Call me at <PHONE>.",
        "Mail <EMAIL> please.",
        "My IBAN is <IBAN>.",
        "I need help.",
        "Server <IP> is down.",
    ]
    rejects = pl.read_parquet(tmp_path / "out" / "rejects" / "*.parquet")
    assert rejects["_reason"].to_list() == ["pii:credit_card"] and rejects["text"][0] == "Card <CREDIT_CARD>."
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    step = next(s for s in manifest["steps"] if s["name"] == "pii")
    assert step["stats"] == {
        "pii:credit_card": 1,
        "pii:email": 1,
        "pii:iban": 1,
        "pii:ip": 1,
        "pii:phone": 1,
        "pii_rows": 5,
    }
    everything = result.out + result.err + json.dumps(manifest) + (tmp_path / "out" / "README.md").read_text()
    for value in ("7946", "jane.doe", "5555-5555", "GB82", "203.0.113"):
        assert value not in everything


@pytest.mark.slow  # importing spaCy takes seconds
def test_names_with_a_spacy_pipeline(tmp_path):
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("fr")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "PER", "pattern": [{"LOWER": "marie"}, {"LOWER": "curie"}]}])
    nlp.to_disk(tmp_path / "pipe")
    out = run(
        ["Marie Curie : marie.curie@exemple.fr", "Rien à signaler."],
        ner={"backend": "spacy", "model": str(tmp_path / "pipe")},
        actions={"email": "tag"},
    ).kept
    assert out["text"].to_list() == ["<PERSON> : marie.curie@exemple.fr", "Rien à signaler."]
    assert spans(out)[0] == [("person", "<PERSON>"), ("email", "marie.curie@exemple.fr")]


def test_map_strings_reaches_every_string_in_structs_and_lists():
    from curate.stages.pii import map_strings

    values = pl.Series(
        "meta",
        [
            {"who": "ann", "tags": ["x", "y"], "n": 1},
            None,
            {"who": None, "tags": [], "n": 2},
            {"who": "bo", "tags": None, "n": 3},
        ],
    )
    out = map_strings(values, lambda s: s.str.to_uppercase())
    assert out.name == "meta" and out.dtype == values.dtype
    assert out.to_list() == [
        {"who": "ANN", "tags": ["X", "Y"], "n": 1},
        None,
        {"who": None, "tags": [], "n": 2},
        {"who": "BO", "tags": None, "n": 3},
    ]
    deep = pl.Series("d", [[{"a": "p"}], [], None, [{"a": None}, {"a": "q"}]])
    assert map_strings(deep, lambda s: s + "!").to_list() == [[{"a": "p!"}], [], None, [{"a": None}, {"a": "q!"}]]


def test_text_inside_structs_and_lists_is_scrubbed_too():
    frame = pl.DataFrame(
        {
            "text": ["hello", "server 192.0.2.146"],
            "meta": [
                {"email": "ann@example.org", "tags": ["call +44 20 7946 0958"]},
                {"email": "bo@example.org", "tags": []},
            ],
        }
    )
    result = Pii.from_dict({"actions": {"ip": "drop", "email": "tag"}}).process(frame)
    assert result.kept["meta"].to_list() == [{"email": "ann@example.org", "tags": ["call <PHONE>"]}]  # email: tag
    assert result.rejected["meta"].to_list() == [{"email": "<EMAIL>", "tags": []}]  # rejects: every span masked
    assert result.stats["pii:email"] == 2 and result.stats["pii:phone"] == 1 and "meta_pii" not in result.kept.columns
    scrubbed = Pii.from_dict({}).scrub(frame.with_columns(pl.lit("length:too_short").alias("_reason")))
    assert scrubbed["meta"].to_list() == [
        {"email": "<EMAIL>", "tags": ["call <PHONE>"]},
        {"email": "<EMAIL>", "tags": []},
    ]

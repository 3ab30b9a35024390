import json

import polars as pl

from curate.stages.normalize import Normalize
from tests.conftest import ROOT


def normalize(texts, **params):
    step = Normalize.from_dict(params)
    result = step.process(pl.DataFrame({"text": texts}, schema={"text": pl.String}))
    return result


def test_repairs_mojibake_and_keeps_valid_typography():
    result = normalize(
        [
            "Le Schtroumpf Docteur conseille g√¢teaux et baies pour un r√©gime √©quilibr√©.",
            "caf\u00c3\u00a9 cr\u00c3\u00a8me",
            "“Curly quotes” and ﬁ ligature and ＡＢＣ stay",
            "Bonjour\u202f!",
        ]
    )
    assert result.kept["text"].to_list() == [
        "Le Schtroumpf Docteur conseille gâteaux et baies pour un régime équilibré.",
        "café crème",
        "“Curly quotes” and ﬁ ligature and ＡＢＣ stay",
        "Bonjour\u202f!",
    ]
    assert result.stats == {"changed:text": 2}


def test_unicode_forms():
    decomposed = "e\u0301t\u00e9"
    assert normalize([decomposed]).kept["text"][0] == "\u00e9t\u00e9"
    assert normalize(["ﬁ ①"], unicode="NFKC").kept["text"][0] == "fi 1"
    assert normalize([decomposed], unicode="none", fix_encoding=False).kept["text"][0] == decomposed


def test_controls_and_whitespace():
    text = "  Hello\x07  world\t!\r\n\r\n\r\n\nNext   line  \n\u0627\u0644\u0639\u0631\u0628\u064a\u0629\u200c ok  "
    out = normalize([text]).kept["text"][0]
    assert out == "Hello world !\n\nNext line\n\u0627\u0644\u0639\u0631\u0628\u064a\u0629\u200c ok"


def test_strip_html():
    html = "<p>Fish &amp; chips</p><script>alert(1)</script><p>in <b>bold</b> text<br/>line</p>"
    assert normalize([html], strip_html=True).kept["text"][0] == "Fish & chips\n\nin bold text\nline"
    assert normalize(["a < b and c > d"], strip_html=True).kept["text"][0] == "a < b and c > d"


def test_clean_text_is_untouched():
    clean = [
        "Plain ASCII sentence.",
        "Ünïcödé façade naïve",
        "日本語のテキスト。",
        "ภาษาไทย",
        "Wote tuliangalia saa yake.",
    ]
    result = normalize(clean)
    assert result.kept["text"].to_list() == clean and result.stats == {}


def test_text_that_becomes_empty_is_rejected():
    result = Normalize.from_dict({"fields": ["text", "target"]}).process(
        pl.DataFrame({"text": ["ok", "\x07\x08", "fine"], "target": ["bien", "x", "<br>"]})
    )
    assert result.kept["text"].to_list() == ["ok", "fine"]
    assert result.rejected["_reason"].to_list() == ["normalize:empty:text"]
    only_html = Normalize.from_dict({"fields": ["target"], "strip_html": True}).process(
        pl.DataFrame({"text": ["a"], "target": ["<br>"]})
    )
    assert only_html.rejected["_reason"].to_list() == ["normalize:empty:target"]


def test_missing_target_stays_missing():
    result = Normalize.from_dict({"fields": ["text", "target"]}).process(
        pl.DataFrame({"text": ["a"], "target": [None]}, schema={"text": pl.String, "target": pl.String})
    )
    assert result.kept["target"].to_list() == [None] and result.rejected.height == 0


def test_mojibake_eval_set():
    """ftfy's own test cases (tests/stages/data/mojibake.jsonl, see SOURCE.md there): every case ftfy is expected to
    fix is fixed (to its encoding-only repair), and no negative (text that looks broken but is not) is changed."""
    rows = [json.loads(line) for line in (ROOT / "tests" / "stages" / "data" / "mojibake.jsonl").open(encoding="utf-8")]
    assert len(rows) == 161
    out = normalize([r["broken"] for r in rows], collapse_whitespace=False, remove_control=False).kept["text"]
    fixed = [o == r["fixed_encoding"] for o, r in zip(out, rows) if r["ftfy_expect"] == "pass" and r["text_changed"]]
    negatives = [o == r["broken"] for o, r in zip(out, rows) if r["category"] == "negative" and not r["text_changed"]]
    assert sum(fixed) / len(fixed) >= 0.95
    assert all(negatives) and len(negatives) >= 20

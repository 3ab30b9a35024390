"""Rewriting text: masks and pseudonyms, with the spans' offsets in the new text."""

from curate.pii.actions import mask_token, pseudonym, replacer, rewrite
from curate.pii.scan import Span


def test_mask_offsets_point_at_the_tokens():
    text = "Écrivez à jane@example.org ou appelez +33 6 12 34 56 78."
    spans = [Span("email", 10, 26, "jane@example.org"), Span("phone", 38, 55, "+33612345678")]
    new, moved = rewrite(text, spans, replacer({"email": "mask", "phone": "mask"}, None))
    assert new == "Écrivez à <EMAIL> ou appelez <PHONE>."
    assert [new[s.start : s.end] for s in moved] == ["<EMAIL>", "<PHONE>"]


def test_tag_leaves_text_and_offsets():
    text = "ip 10.0.0.1 and mail a@b.io"
    spans = [Span("ip", 3, 11, "10.0.0.1"), Span("email", 21, 27, "a@b.io")]
    new, moved = rewrite(text, spans, replacer({"ip": "tag", "email": "mask"}, None))
    assert new == "ip 10.0.0.1 and mail <EMAIL>"
    assert [new[s.start : s.end] for s in moved] == ["10.0.0.1", "<EMAIL>"]


def test_pseudonyms_are_stable_and_keyed():
    a = Span("email", 0, 5, "jane@example.org")
    same = Span("email", 40, 45, "jane@example.org")
    assert pseudonym(a, b"k1") == pseudonym(same, b"k1")
    assert pseudonym(a, b"k1") != pseudonym(a, b"k2")
    assert pseudonym(a, b"k1") != pseudonym(Span("url", 0, 5, "jane@example.org"), b"k1")
    token = pseudonym(a, b"k1")
    assert token.startswith("<EMAIL_") and token.endswith(">") and len(token) == len("<EMAIL_>") + 12
    assert "jane" not in token


def test_mask_all_for_rejected_rows():
    text = "a@b.io"
    new, _ = rewrite(text, [Span("email", 0, 6, "a@b.io")], replacer({"email": "tag"}, None, mask_all=True))
    assert new == mask_token("email") == "<EMAIL>"

"""The scanner: polars picks candidate rows, Python validates them; offsets are Python character offsets."""

import polars as pl

from curate.pii import BUILTIN, BY_KIND, Hints, Scanner, Span
from curate.pii.scan import blank, candidate_rows, resolve


def test_offsets_are_characters_after_non_ascii_text():
    texts = [
        "مرحبا، بريدي jane@example.org ورقمي +44 20 7946 0958",
        "我的邮箱是 li.wei@example.cn，IP 是 203.0.113.7。",
        "😀😀 card 4111 1111 1111 1111",
        "no PII here at all",
    ]
    out = Scanner(BUILTIN).scan(pl.Series(texts), lambda i: Hints(fallback=("US",)))
    assert sorted(out) == [0, 1, 2]
    got = {i: [(s.kind, texts[i][s.start : s.end]) for s in spans] for i, spans in out.items()}
    assert got == {
        0: [("email", "jane@example.org"), ("phone", "+44 20 7946 0958")],
        1: [("email", "li.wei@example.cn"), ("ip", "203.0.113.7")],
        2: [("credit_card", "4111 1111 1111 1111")],
    }
    assert out[1][0].start == 6  # characters, not UTF-8 bytes (which would be 16)


def test_prefilter_picks_only_rows_that_may_hold_a_kind():
    masks = candidate_rows(pl.Series(["a@b.co", "plain text", None]), [BY_KIND["email"], BY_KIND["ip"]])
    assert masks.to_dict(as_series=False) == {"email": [True, False, False], "ip": [False, False, False]}


def test_resolve_containment_then_rank():
    rank = {"email": 0.0, "url": 1.0, "ip": 2.0, "phone": 3.0}
    url = Span("url", 0, 30, "u")
    inner_ip = Span("ip", 8, 19, "i")
    assert resolve([inner_ip, url], rank) == [url]  # a URL holding an IP is one URL
    a, b = Span("phone", 0, 10, "p"), Span("ip", 5, 15, "i")
    assert resolve([a, b], rank) == [b]  # partial overlap: the kind ranked first
    assert resolve([Span("ip", 0, 3, "x"), Span("ip", 0, 3, "x")], rank) == [Span("ip", 0, 3, "x")]


def test_national_number_of_the_hinted_country_wins():
    text = "numer 32110380604"  # a valid PESEL and a valid T.C. Kimlik No at once
    scanner = Scanner([BY_KIND["tr_tckimlik"], BY_KIND["pl_pesel"]])
    assert scanner.scan(pl.Series([text]))[0][0].kind == "tr_tckimlik"
    polish = scanner.scan(pl.Series([text]), lambda i: Hints(regions=("PL",)))
    assert polish[0][0].kind == "pl_pesel"


def test_blank_keeps_length():
    text = "ab 123 cd"
    assert blank(text, [Span("x", 3, 6, "")]) == "ab     cd"


def test_a_weak_checksum_id_gives_way_to_a_phone_unless_the_row_agrees():
    texts = ["Llámame al 612 345 678", "my SIN is 612 345 678", "612 345 678"]
    scanner = Scanner(BUILTIN)

    def kinds(**hints):
        found = scanner.scan(pl.Series(texts), lambda i: Hints(**hints))
        return [[(s.kind, texts[i][s.start : s.end]) for s in found.get(i, [])] for i in range(len(texts))]

    spanish = kinds(regions=("ES",), language="es")  # passes the Canadian SIN's Luhn check, and is a Spanish mobile
    assert spanish == [[("phone", "612 345 678")], [("ca_sin", "612 345 678")], [("phone", "612 345 678")]]
    canadian = kinds(regions=("CA",), language="en")  # the row's country agrees with the SIN
    assert canadian == [[("ca_sin", "612 345 678")]] * 3
    # no hint: the context word decides; with none, nothing else claims the number
    assert kinds() == [[("phone", "612 345 678")], [("ca_sin", "612 345 678")], [("ca_sin", "612 345 678")]]


def test_resolve_ranks_demoted_spans_last():
    rank = {"ca_sin": 0.0, "phone": 1.0}
    sin, phone = Span("ca_sin", 0, 11, "s"), Span("phone", 0, 11, "p")
    assert resolve([sin, phone], rank) == [sin]
    assert resolve([sin, phone], rank, demoted={sin}) == [phone]

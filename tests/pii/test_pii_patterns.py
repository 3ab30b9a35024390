"""Pattern detectors: what each finds, with exact spans, and the look-alikes it leaves alone."""

from curate.pii import BY_KIND, Hints

US = Hints(fallback=("US",))


def found(kind, text, hints=US):
    return [(text[s.start : s.end], s.key) for s in BY_KIND[kind].find(text, hints)]


def test_email():
    text = (
        "Write to José.Núñez@correo.es, anotherinfo@presidio.site or a@xn--d1acufc.xn--p1ai; not info@presidio. nor a@b"
    )
    assert found("email", text) == [
        ("José.Núñez@correo.es", "José.Núñez@correo.es"),
        ("anotherinfo@presidio.site", "anotherinfo@presidio.site"),
        ("a@xn--d1acufc.xn--p1ai", "a@xn--d1acufc.xn--p1ai"),
    ]
    assert found("email", "<jane@EXAMPLE.org>") == [("jane@EXAMPLE.org", "jane@example.org")]
    assert found("email", "this is not an email: hello-world here") == []


def test_url():
    text = (
        "See https://www.microsoft.com/store/abc/. Or (http://example.org/a_(b)) and www.wikipedia.org, "
        "microsoft.com google.co.il file.py e.g. http://microsoft www.microsoft"
    )
    assert [u for u, _ in found("url", text)] == [
        "https://www.microsoft.com/store/abc/",
        "http://example.org/a_(b)",
        "www.wikipedia.org",
        "microsoft.com",
        "google.co.il",
    ]
    assert found("url", "https://webhook.site/a8eedfd6?q=1&b=2 ok") == [
        ("https://webhook.site/a8eedfd6?q=1&b=2", "https://webhook.site/a8eedfd6?q=1&b=2")
    ]


def test_ip_v4_and_v6():
    text = (
        "src 192.168.0.1, dst 2001:db8::1. text192.168.1.1 1.2.3.4.5 Time 12:34:56 std::cout fe80::1%eth0 "
        "[::1]:80 256.1.1.1 00:1A:2B:3C:4D:5E 684D:1111:222:3333:4444:5555:77"
    )
    assert found("ip", text) == [
        ("192.168.0.1", "192.168.0.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1%eth0"),
        ("::1", "::1"),
    ]


def test_ipv4_mapped_ipv6_is_one_address_after_resolution():
    import polars as pl

    from curate.pii import Scanner

    spans = Scanner([BY_KIND["ip"]]).scan(pl.Series(["Mapped: ::ffff:192.168.1.1"]))[0]
    assert [(s.start, s.end) for s in spans] == [(8, 26)]


def test_credit_card_groups():
    text = "4012888888881881 4012-8888-8888-1881 4012 8888 8888 1881 and 4012-8888-8888-1882, 3.14159265358979"
    assert found("credit_card", text) == [
        ("4012888888881881", "4012888888881881"),
        ("4012-8888-8888-1881", "4012888888881881"),
        ("4012 8888 8888 1881", "4012888888881881"),
    ]
    assert found("credit_card", "Amex 3714 496353 98431 ok") == [("3714 496353 98431", "371449635398431")]
    assert found("credit_card", "order 4111111111111111123 and ref x4111111111111111") == []


def test_iban_print_and_electronic_forms():
    text = (
        "this is an iban VG96 VPVG 0000 0123 4567 8901 X in a sentence; "
        "IL15 0120 6900 0000 3111 0120 6900 0000 3111 141; AL47-2121-1009-0000-0002-3569-8741."
    )
    assert found("iban", text) == [
        ("VG96 VPVG 0000 0123 4567 8901", "VG96VPVG0000012345678901"),
        ("AL47-2121-1009-0000-0002-3569-8741", "AL47212110090000000235698741"),
    ]
    assert found("iban", "IBAN:DE89370400440532013000.") == [("DE89370400440532013000", "DE89370400440532013000")]
    assert found("iban", "de89 3704 0044 0532 0130 00, gb42nawi04454264788619") == [  # people write lower case too
        ("de89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("gb42nawi04454264788619", "GB42NAWI04454264788619"),
    ]
    assert found("iban", "de89 3704 0044 0532 0130 01") == []  # mod 97 in any case


def test_crypto():
    text = (
        "pay 16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ or bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq, "
        "not 16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ2"
    )
    assert [a for a, _ in found("crypto", text)] == [
        "16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    ]

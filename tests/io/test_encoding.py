"""Text encodings: what a file is in when nobody wrote it down, and the records of a file that are in another.

Texts are real sentences (Tatoeba and Leipzig, `shared/eval/lid`) or fixed ones; each test encodes them itself, so
the expected text is the original, not what the code under test says."""

import json
import random
from collections import Counter

import polars as pl
import pytest

from curate.io.encoding import FileEncoding, RecordDecoder, detect, resolve_encoding
from curate.io.readers import ReadOptions, open_reader, peek_columns
from curate.run.recipe import Source
from tests.conftest import SHARED_EVAL

LID = SHARED_EVAL / "lid" / "lid.jsonl"
needs_eval = pytest.mark.skipif(not LID.exists(), reason="shared eval data not present")


def sentences(lang: str, encoding: str, n: int = 30, seed: int = 1) -> list[str]:
    """`n` sentences of a language from shared/eval that the encoding holds exactly."""
    found = []
    for line in LID.open(encoding="utf-8"):
        text = json.loads(line)
        if text["lang"] == lang and not text["text"].isascii() and holds(encoding, text["text"]):
            found.append(text["text"])
    random.Random(seed).shuffle(found)
    assert len(found) >= n, (lang, encoding, len(found))
    return found[:n]


def holds(encoding: str, text: str) -> bool:
    try:
        return text.encode(encoding).decode(encoding) == text
    except UnicodeError:
        return False


def jsonl(texts: list[str], encodings: list[str] | str) -> bytes:
    encodings = [encodings] * len(texts) if isinstance(encodings, str) else encodings
    return b"".join((json.dumps({"text": t}, ensure_ascii=False) + "\n").encode(e) for t, e in zip(texts, encodings))


def read(path, **source):
    reader = open_reader(path, Source(path=str(path), **source), path.name, ReadOptions(), 0)
    batches = list(reader.batches())
    rows = pl.concat([b.rows for b in batches], how="diagonal_relaxed")
    rejects = pl.concat([b.rejects for b in batches], how="diagonal")
    stats = sum((b.stats for b in batches), start=Counter())
    return rows, rejects, stats


def file_encodings(stats: Counter) -> set[str]:
    return {key.split(":", 1)[1] for key in stats if key.startswith("file_encoding:")}


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8-sig", "utf-8"),
        ("utf-16", "utf-16"),
        ("utf-32", "utf-32"),
        ("utf-16-le", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
        ("utf-32-le", "utf-32-le"),
        ("utf-32-be", "utf-32-be"),
    ],
)
def test_byte_order_marks_and_utf16_32_come_first(tmp_path, encoding, expected):
    texts = ["ハロウィンっていつ？", "Пазней школа размяшчалася ўжо ў хатах.", "𐌹𐌺 𐌷𐌰𐌱𐌰 𐍄𐍅𐌰𐌽𐍃."]
    path = tmp_path / "a.txt"
    path.write_bytes("\n".join(texts).encode(encoding))
    assert detect(path.read_bytes()).name == expected
    rows, rejects, stats = read(path, encoding="auto")
    assert rows["text"].to_list() == texts and rejects.height == 0
    assert file_encodings(stats) == {expected}


def test_utf16_without_ascii_or_bom_is_told_by_its_byte_order(tmp_path):
    khmer = "ហើយ\u200bគឺ\u200bជា\u200bសេចក្តី\u200bស្រឡាញ់"  # no ASCII, so no NUL byte either
    assert detect(khmer.encode("utf-16-le")).name == "utf-16-le"
    assert detect(khmer.encode("utf-16-be")).name == "utf-16-be"


def test_iso2022_is_found_by_its_escapes(tmp_path):
    path = tmp_path / "a.jsonl"
    texts = ["日本語のテキストです。", "これは二行目です。"]
    path.write_bytes(jsonl(texts, "iso2022_jp"))
    assert path.read_bytes().isascii()
    rows, _, stats = read(path, encoding="auto")
    assert rows["text"].to_list() == texts and file_encodings(stats) == {"iso2022_jp"}  # not its editions: the standard


@needs_eval
@pytest.mark.parametrize(
    ("lang", "encoding"),
    [
        ("rus", "cp1251"),
        ("rus", "koi8_r"),
        ("jpn", "shift_jis"),
        ("jpn", "euc_jp"),
        ("kor", "euc_kr"),
        ("ell", "cp1253"),
        ("heb", "cp1255"),
        ("ara", "cp1256"),
        ("pol", "iso8859_2"),
        ("tur", "cp1254"),
        ("fra", "cp1252"),
        ("tha", "tis_620"),
        ("ukr", "mac_cyrillic"),
    ],
)
def test_legacy_files_are_read_exactly(tmp_path, lang, encoding):
    texts = sentences(lang, encoding)
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl(texts, encoding))
    rows, rejects, stats = read(path, encoding="auto")
    assert rows["text"].to_list() == texts and rejects.height == 0
    assert not any(key.startswith("fallback:") for key in stats)


@needs_eval
def test_a_utf8_file_with_records_in_a_legacy_encoding(tmp_path):
    texts = sentences("fra", "cp1252", 40)
    legacy = set(random.Random(3).sample(range(40), 12))
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl(texts, ["cp1252" if i in legacy else "utf-8" for i in range(40)]))
    assert resolve_encoding(path, "auto") == FileEncoding("utf-8", "UTF-8", fallback=True)
    rows, rejects, stats = read(path, encoding="auto")
    assert rows["text"].to_list() == texts and rejects.height == 0
    assert stats["fallback:cp1252"] == 12
    _, rejects, stats = read(path)  # not `auto`: a UTF-8 file is read as UTF-8, the others are rejected
    assert rejects["_row"].to_list() == sorted(legacy) and set(rejects["_reason"]) == {"unparseable"}
    assert stats["undecodable"] == 12


@needs_eval
def test_a_legacy_file_with_utf8_records_appended(tmp_path):
    texts = sentences("rus", "cp1251", 30)
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl(texts, ["cp1251"] * 20 + ["utf-8"] * 10))
    for declared in ("auto", None):  # a file that is not UTF-8 is read as `auto` reads it
        rows, rejects, stats = read(path, encoding=declared)
        assert rows["text"].to_list() == texts and rejects.height == 0
        assert file_encodings(stats) == {"cp1251"} and stats["fallback:utf-8"] == 10


@needs_eval
@pytest.mark.parametrize(("lang", "first", "second"), [("rus", "cp1251", "koi8_r"), ("jpn", "shift_jis", "euc_jp")])
def test_two_legacy_files_concatenated(tmp_path, lang, first, second):
    texts = [t for t in sentences(lang, first, 60) if holds(second, t)][:40]
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl(texts, [first] * 20 + [second] * 20))
    rows, rejects, stats = read(path, encoding="auto")
    assert rows["text"].to_list() == texts and rejects.height == 0


def test_damaged_utf8_is_unparseable_and_keeps_its_bytes(tmp_path):
    path = tmp_path / "a.jsonl"
    valid = '{"text": "Grüße aus Köln, schöne Grüße"}'.encode()
    damaged = valid + b"\xff"
    path.write_bytes(jsonl(["Straße", "Übung macht den Meister."], "utf-8") + damaged + b"\n")
    rows, rejects, stats = read(path, encoding="auto")
    assert rows["text"].to_list() == ["Straße", "Übung macht den Meister."]
    assert rejects.select("_row", "_reason", "_raw", "_raw_bytes", "_detail").rows() == [
        (
            2,
            "unparseable",
            None,
            damaged,
            f"bytes not valid in utf-8 (byte 0xff at {len(valid)}): damaged UTF-8 (most of the record is valid UTF-8)",
        )
    ]
    assert stats["undecodable"] == 1


def test_a_record_no_encoding_reads_names_the_candidates_tried():
    decoder = RecordDecoder(FileEncoding("shift_jis", "declared", fallback=True))
    decoded = decoder.decode(["日本".encode("shift_jis"), b"\x81\x00\x81\x00"])
    assert decoded.texts == ["日本", None]
    assert decoded.problems == [None, "bytes not valid in any encoding tried: shift_jis, cp932, utf-8 (byte 0x81 at 0)"]
    assert decoded.stats == {"undecodable": 1}


def test_a_declared_encoding_rejects_bytes_it_does_not_have(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("Привет\n".encode("cp1251") + b"\x98 undefined\n")
    rows, rejects, _ = read(path, encoding="cp1251")
    assert rows["text"].to_list() == ["Привет"]
    assert rejects.select("_raw", "_raw_bytes", "_detail").rows() == [
        (
            None,
            b"\x98 undefined",
            "bytes not valid in cp1251 (byte 0x98 at 0) (`encoding: auto` decodes such records on their own)",
        )
    ]


def test_shift_jis_csv_with_quotes_commas_and_line_breaks(tmp_path):
    """Parsed before decoding: the quotes and commas are ASCII, which no Shift_JIS character contains (its second
    bytes include `\\` and letters)."""
    header = ["番号", "本文"]
    rows = [["1", "表示、ソフト"], ["2", "改行\nのある「文」"], ["3", '引用符 "能" です']]
    text = ",".join(header) + "\n" + "".join(f'{n},"{t.replace(chr(34), chr(34) * 2)}"\n' for n, t in rows)
    path = tmp_path / "a.csv"
    path.write_bytes(text.encode("shift_jis"))
    source = {"encoding": "auto", "columns": {"text": "本文"}}
    assert peek_columns(path, Source(path=str(path), **source)) == {"番号": None, "本文": None}
    found, rejects, stats = read(path, **source)
    assert found["text"].to_list() == [t for _, t in rows] and found["番号"].to_list() == ["1", "2", "3"]
    assert rejects.height == 0 and file_encodings(stats) == {"shift_jis"}


def test_a_windows_1251_csv_with_utf8_rows(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(
        "id,текст\n1,Добрый день\n".encode("cp1251")
        + "2,Спасибо большое\n".encode()
        + "3,До свидания\n".encode("cp1251")
    )
    rows, rejects, stats = read(path, encoding="auto", columns={"text": "текст"})
    assert rows["text"].to_list() == ["Добрый день", "Спасибо большое", "До свидания"] and rejects.height == 0
    assert stats["fallback:utf-8"] == 1

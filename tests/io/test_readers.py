"""Readers: every format, and every kind of bad record becomes a reject with its raw content and a reason."""

import json
from pathlib import Path

import polars as pl
import pytest

from curate.io.readers import ReadOptions, open_reader, row_ids, text_ids
from curate.run.recipe import Source
from tests.conftest import write_jsonl


def read_all(path, options=None, **source):
    source.setdefault("path", str(path))
    reader = open_reader(path, Source(**source), path.name, options or ReadOptions(), 0)
    batches = list(reader.batches())
    rows = pl.concat([b.rows for b in batches], how="diagonal_relaxed")
    rejects = pl.concat([b.rejects for b in batches])
    return rows, rejects


def reasons(rejects):
    return dict(zip(rejects["_row"].to_list(), rejects["_reason"].to_list()))


def test_jsonl_good_and_bad_lines(tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"src": "Hello.", "tgt": "Bonjour.", "n": 1},
            '{"src": "broken", ',
            b'{"src": "caf\xe9"}',
            {"tgt": "no source"},
            {"src": None, "tgt": "null source"},
            "",
            {"src": "   ", "tgt": "blank source"},
            "[1, 2]",
            {"src": "Last.", "tgt": "Dernier.", "n": 7},
        ],
    )
    rows, rejects = read_all(path, columns={"text": "src", "target": "tgt"}, encoding="utf-8")
    assert rows.columns == ["_id", "_source", "_row", "text", "target", "n"]
    assert rows["text"].to_list() == ["Hello.", "Last."]
    assert rows["_row"].to_list() == [0, 8]  # the blank line (5) is not a record, but keeps line numbering
    assert reasons(rejects) == {
        1: "unparseable",
        2: "unparseable",
        3: "missing_field:text",
        4: "missing_field:text",
        6: "empty_field:text",
        7: "unparseable",
    }
    by_row = {r["_row"]: r for r in rejects.to_dicts()}
    assert by_row[1]["_raw"] == '{"src": "broken", '
    assert by_row[1]["_detail"].startswith("broken JSON")
    assert by_row[2]["_raw"] is None and by_row[2]["_raw_bytes"] == b'{"src": "caf\xe9"}'  # the bytes as they were
    assert (
        by_row[2]["_detail"] == "invalid UTF-8 at byte 12 (set `encoding:` on the source; `auto` decodes such "
        "records on their own)"
    )
    assert by_row[3]["_detail"] == "the record has no value for 'src'"
    assert by_row[7]["_detail"] == "a JSON line must hold an object, not list"
    assert set(rejects["_id"]).isdisjoint(rows["_id"]) and rejects["_id"].n_unique() == 6


def test_jsonl_fast_path_equals_slow_path(tmp_path):
    records = [{"src": f"sentence {i}", "tgt": f"phrase {i}"} for i in range(20)]
    clean = write_jsonl(tmp_path / "clean.jsonl", records)
    broken = write_jsonl(tmp_path / "broken.jsonl", records + ["{oops"])
    fast, _ = read_all(clean, columns={"text": "src"})
    slow, rejects = read_all(broken, columns={"text": "src"})
    assert reasons(rejects) == {20: "unparseable"}
    assert fast.drop("_id", "_source").equals(slow.drop("_id", "_source"))


def test_ids_are_stable_and_differ_across_files(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"text": "same"}, {"text": "same"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"text": "same"}])
    rows_a, _ = read_all(a)
    rows_b, _ = read_all(b)
    assert rows_a["_id"].to_list() == row_ids("a.jsonl", [0, 1], ["same", "same"])
    assert len(set(rows_a["_id"]) | set(rows_b["_id"])) == 3
    assert read_all(a)[0]["_id"].to_list() == rows_a["_id"].to_list()


def test_too_large_record_is_rejected_with_its_content(tmp_path):
    big = "x" * 10_000_000
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "small"}, {"text": big}, {"text": "after"}])
    rows, rejects = read_all(path)
    assert rows["text"].to_list() == ["small", "after"]
    (reject,) = rejects.to_dicts()
    assert reject["_reason"] == "too_large" and reject["_row"] == 1
    assert json.loads(reject["_raw"])["text"] == big
    assert reject["_detail"] == "the record is 10,000,012 bytes; max_record_bytes is 4,194,304"


def test_batches_are_bounded_and_rows_numbered_across_them(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": f"row {i}"} for i in range(250)])
    reader = open_reader(path, Source(path=str(path)), "a.jsonl", ReadOptions(batch_rows=100, batch_bytes=1000), 0)
    batches = list(reader.batches())
    assert max(b.rows.height for b in batches) <= 100 and len(batches) >= 3
    assert pl.concat([b.rows for b in batches])["_row"].to_list() == list(range(250))
    assert [b.chunk for b in batches] == list(range(len(batches)))


def test_mixed_value_types_across_records_are_kept(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "a", "meta": 1}, {"text": "b", "meta": {"k": 2}}, "{bad"])
    rows, _ = read_all(path)
    assert rows["meta"].to_list() == ["1", '{"k": 2}']


def test_numbers_in_the_text_column_become_text(tmp_path):
    rows, _ = read_all(write_jsonl(tmp_path / "a.jsonl", [{"text": 42}]))
    assert rows["text"].to_list() == ["42"]


def test_latin1_file_and_utf8_bom(tmp_path):
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"text": "café crème"}\n'.encode("latin-1"))
    rows, rejects = read_all(latin, encoding="latin-1")
    assert rows["text"].to_list() == ["café crème"] and rejects.height == 0
    _, rejects = read_all(latin, encoding="utf-8")
    assert rejects["_reason"].to_list() == ["unparseable"]
    assert "set `encoding:` on the source" in rejects["_detail"][0]
    assert rejects["_raw_bytes"].to_list() == ['{"text": "café crème"}'.encode("latin-1")]
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b'\xef\xbb\xbf{"text": "first"}\n{"text": "second"}')
    assert read_all(bom)[0]["text"].to_list() == ["first", "second"]


def test_utf16_text_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("première ligne\nдругая строка\n".encode("utf-16"))
    rows, _ = read_all(path, encoding="utf-16")
    assert rows["text"].to_list() == ["première ligne", "другая строка"]


def test_csv_quoted_newlines_and_ragged_rows(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('id,text\n1,"multi\nline, with comma"\n2,too,many\n3,"ok ""quoted"""\n4,\n', encoding="utf-8")
    rows, rejects = read_all(path)
    assert rows["text"].to_list() == ["multi\nline, with comma", 'ok "quoted"']
    assert rows["id"].to_list() == ["1", "3"]
    assert reasons(rejects) == {1: "unparseable", 3: "empty_field:text"}
    assert rejects.filter(pl.col("_row") == 1)["_detail"][0] == "expected 2 fields, found 3"


def test_csv_invalid_bytes_and_tsv(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"text\ngood\nbad \xff byte\n")
    rows, rejects = read_all(path, encoding="utf-8")
    assert rows["text"].to_list() == ["good"] and reasons(rejects) == {1: "unparseable"}
    assert rejects.select("_raw", "_raw_bytes", "_detail").row(0) == (
        None,
        b"bad \xff byte",
        "invalid UTF-8 at byte 4 (set `encoding:` on the source; `auto` decodes such records on their own)",
    )
    tsv = tmp_path / "a.tsv"
    tsv.write_text("lang\tsentence\nfra\tUne phrase, avec virgule.\n", encoding="utf-8")
    rows, _ = read_all(tsv, columns={"text": "sentence"})
    assert rows.select("text", "lang").row(0) == ("Une phrase, avec virgule.", "fra")


def test_json_array_and_broken_json_file(tmp_path):
    good = tmp_path / "a.json"
    good.write_text(json.dumps({"data": [{"text": "one"}, "not an object", {"text": "two"}]}), encoding="utf-8")
    rows, rejects = read_all(good)
    assert rows["text"].to_list() == ["one", "two"] and reasons(rejects) == {1: "unparseable"}
    broken = tmp_path / "b.json"
    broken.write_text('[{"text": "one"},', encoding="utf-8")
    rows, rejects = read_all(broken)
    assert rows.height == 0 and rejects["_raw"].to_list() == ['[{"text": "one"},']


def test_txt_by_line_and_by_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("第一行\n\nline three\r\nbad \xff\n".encode().replace(b"\\xff", b"") + b"bad \xff\n")
    rows, rejects = read_all(path)
    assert rows["text"].to_list() == ["第一行", "line three", "bad ÿ"]
    assert rows["_row"].to_list() == [0, 2, 3] and reasons(rejects) == {4: "unparseable"}
    doc = tmp_path / "doc.txt"
    doc.write_text("Para one.\n\nPara two.\n", encoding="utf-8")
    rows, _ = read_all(doc, txt_unit="file")
    assert rows["text"].to_list() == ["Para one.\n\nPara two.\n"]


def test_parquet(tmp_path):
    path = tmp_path / "a.parquet"
    pl.DataFrame({"body": ["x", None, "z"], "score": [1.0, 2.0, 3.0]}).write_parquet(path)
    rows, rejects = read_all(path, columns={"text": "body"})
    assert rows["text"].to_list() == ["x", "z"] and rows["score"].to_list() == [1.0, 3.0]
    assert reasons(rejects) == {1: "missing_field:text"}
    assert json.loads(rejects["_raw"][0]) == {"text": None, "score": 2.0}


def test_datasets_folder(tmp_path):
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "saved"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"sentence": ["a", "b", ""], "label": [0, 1, 0]}),
            "test": datasets.Dataset.from_dict({"sentence": ["c"], "label": [1]}),
        }
    ).save_to_disk(str(folder))
    rows, rejects = read_all(folder, columns={"text": "sentence"}, split="train")
    assert rows.select("text", "label").rows() == [("a", 0), ("b", 1)]
    assert reasons(rejects) == {2: "empty_field:text"}
    rows, _ = read_all(folder, columns={"text": "sentence"}, split="test")
    assert rows["text"].to_list() == ["c"]


def test_hub_dataset_offline_gives_a_clear_error(tmp_path):
    pytest.importorskip("datasets")
    from curate.core.errors import InputError

    reader = open_reader(None, Source(hub="someone/not-cached"), "hub:someone/not-cached:train", ReadOptions(), 0)
    with pytest.raises(
        InputError,
        match=r"could not load the hub dataset 'someone/not-cached' \(split 'train'\).*"
        r"point `path:` at the saved copy",
    ):
        list(reader.batches())


def test_ids_hashed_from_the_text_buffer_equal_row_ids():
    texts = pl.Series(["héllo", "", "中文 ok", "x" * 5000, "a\u0000b", "🙂"]).slice(
        1
    )  # a slice: offsets inside the buffer
    rows = pl.Series([5, 17, 123456789, 3, 2**40])
    assert text_ids("data/ü.jsonl", rows, texts) == row_ids("data/ü.jsonl", rows.to_list(), texts.to_list())


# hostile and unusual input (issue 15) ---------------------------------------------------------------------------
LONE = "a lone surrogate '\\ud800' (half of a UTF-16 pair) is not text"


@pytest.mark.parametrize("broken_line", [False, True])
def test_a_lone_surrogate_is_a_reject_on_both_paths(tmp_path, broken_line):
    """`"a \\ud800 b"` crashed the run when the batch also had a broken line; polars turned it into NUL otherwise."""
    lines = ['{"text": "a \\ud800 b"}', '{"text": "pair \\ud83d\\ude00 ok"}', '{"text": "\\\\ud800 is written out"}']
    path = write_jsonl(tmp_path / "a.jsonl", lines + (["{broken"] if broken_line else []))
    rows, rejects = read_all(path)
    assert rows["text"].to_list() == ["pair 😀 ok", "\\ud800 is written out"]
    assert rejects.select("_row", "_reason", "_detail", "_raw").rows()[0] == (0, "unparseable", LONE, lines[0])
    assert rejects.height == 1 + broken_line


def test_a_lone_surrogate_in_a_json_file(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('[{"text": "ok"}, {"text": "x \\udc00"}]', encoding="utf-8")
    rows, rejects = read_all(path)
    assert rows["text"].to_list() == ["ok"]
    assert rejects.select("_row", "_reason", "_detail", "_raw").rows() == [
        (1, "unparseable", "a lone surrogate '\\udc00' (half of a UTF-16 pair) is not text", '{"text": "x \\udc00"}')
    ]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_json_nested_too_deeply_is_a_reject(tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            f'{{"text": "deep", "d": {nested(10_000)}}}',
            f'{{"text": "deeper than the limit", "d": {nested(150)}}}',
            f'{{"text": "fine", "d": {nested(50)}}}',
        ],
    )
    rows, rejects = read_all(path)
    assert rows["text"].to_list() == ["fine"]
    assert rejects.select("_row", "_reason", "_detail").rows() == [
        (0, "unparseable", "JSON nested deeper than 100 levels"),
        (1, "unparseable", "JSON nested deeper than 100 levels"),
    ]
    whole = tmp_path / "a.json"
    whole.write_text(f'[{{"text": "a"}}, {{"text": "b", "d": {nested(10_000)}}}]')
    rows, rejects = read_all(whole)
    assert rows.height == 0 and rejects.select("_row", "_reason", "_detail").rows() == [
        (0, "unparseable", "JSON nested deeper than 100 levels")
    ]  # the parser can't read the file at all
    whole.write_text(f'[{{"text": "a"}}, {{"text": "b", "d": {nested(150)}}}]')
    rows, rejects = read_all(whole)
    assert rows["text"].to_list() == ["a"] and rejects.select("_row", "_detail").rows() == [
        (1, "JSON nested deeper than 100 levels")
    ]


def test_compressed_inputs_read_like_plain_ones(tmp_path):
    import bz2
    import gzip
    import lzma

    import pyarrow as pa

    records = [{"text": f"ligne {i} é"} for i in range(50)]
    plain = write_jsonl(tmp_path / "a.jsonl", records)
    expected, _ = read_all(plain)
    data = plain.read_bytes()
    for name, packed in [
        ("a.jsonl.gz", gzip.compress(data)),
        ("a.jsonl.zst", pa.compress(data, "zstd", asbytes=True)),
        ("a.jsonl.bz2", bz2.compress(data)),
        ("a.jsonl.xz", lzma.compress(data)),
    ]:
        (tmp_path / name).write_bytes(packed)
        rows, rejects = read_all(tmp_path / name)
        assert rows.drop("_id", "_source").equals(expected.drop("_id", "_source")) and rejects.height == 0, name
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(b'id,text\n1,"un, deux"\n'))
    assert read_all(tmp_path / "b.csv.gz")[0]["text"].to_list() == ["un, deux"]
    (tmp_path / "c.txt.gz").write_bytes(gzip.compress(b"une\ndeux\n"))
    assert read_all(tmp_path / "c.txt.gz")[0]["text"].to_list() == ["une", "deux"]
    (tmp_path / "d.json.gz").write_bytes(gzip.compress(b'[{"text": "x"}]'))
    assert read_all(tmp_path / "d.json.gz")[0]["text"].to_list() == ["x"]


def test_formats_and_compression_from_the_name(tmp_path):
    from curate.core.errors import CurateError
    from curate.io.readers import data_format, detect_format

    assert [data_format(Path(n)) for n in ("a.jsonl.gz", "a.csv.zst", "a.gz", "notes.md", "a.TXT")] == [
        "jsonl",
        "csv",
        None,
        None,
        "txt",
    ]
    assert detect_format(Path("corpus.v2.jsonl.bz2"), "auto") == "jsonl"
    with pytest.raises(CurateError, match="a gzip-compressed parquet file can't be read; decompress it first"):
        detect_format(Path("a.parquet.gz"), "auto")


@pytest.mark.parametrize("name", ["a.jsonl", "a.json", "a.csv", "a.tsv", "a.txt", "a.parquet", "a.jsonl.gz"])
def test_an_empty_file_is_zero_records(tmp_path, name):
    import gzip

    from curate.io.readers import peek_columns

    path = tmp_path / name
    path.write_bytes(gzip.compress(b"") if name.endswith(".gz") else b"")
    reader = open_reader(path, Source(path=str(path)), name, ReadOptions(), 0)
    assert list(reader.batches()) == []
    assert peek_columns(path, Source(path=str(path))) == (None if not name.endswith(".txt") else {"text": pl.String})
    if name == "a.txt":
        reader = open_reader(path, Source(path=str(path), txt_unit="file"), name, ReadOptions(), 0)
        assert list(reader.batches()) == []


def test_utf16_jsonl_reads_and_peeks(tmp_path):
    from curate.io.readers import peek_columns

    path = tmp_path / "a.jsonl"
    path.write_bytes('{"src": "première"}\n{"src": "другая"}\n'.encode("utf-16"))
    source = Source(path=str(path), encoding="utf-16", columns={"text": "src"})
    assert peek_columns(path, source) == {"src": None}
    reader = open_reader(path, source, "a.jsonl", ReadOptions(batch_bytes=8), 0)  # blocks split characters
    rows = pl.concat([b.rows for b in reader.batches()])
    assert rows["text"].to_list() == ["première", "другая"] and rows["_row"].to_list() == [0, 1]


def test_peek_columns_survives_what_the_reader_rejects(tmp_path):
    from curate.core.errors import CurateError
    from curate.io.readers import peek_columns

    path = write_jsonl(tmp_path / "a.jsonl", [f'{{"x": {nested(10_000)}}}', "{broken", {"text": "t", "n": 1}])
    assert peek_columns(path, Source(path=str(path))) == {"text": None, "n": None}
    only_broken = write_jsonl(tmp_path / "b.jsonl", ["{broken"])
    assert peek_columns(only_broken, Source(path=str(only_broken))) is None  # the run rejects it: nothing to check
    fake = tmp_path / "c.parquet"
    fake.write_text("id,text\n1,not parquet\n")
    with pytest.raises(
        CurateError, match=r"^not a parquet file \(parquet: File out of specification: The file must end with PAR1"
    ):
        peek_columns(fake, Source(path=str(fake)))


def test_csv_unterminated_quote_rejects_one_line_and_reads_on(tmp_path):
    """A stray quote used to swallow every later line into one field, silently."""
    path = tmp_path / "a.csv"
    path.write_text('id,text\n1,"good"\n2,"broken\n3,after\n4,"multi\nline"\n5,"open to the end\n6,last\n')
    rows, rejects = read_all(path)
    assert rows.select("_row", "id", "text").rows() == [
        (0, "1", "good"),
        (2, "3", "after"),
        (3, "4", "multi\nline"),
        (5, "6", "last"),
    ]
    assert rejects.select("_row", "_raw", "_reason", "_detail").rows() == [
        (
            1,
            '2,"broken',
            "unparseable",
            "a quote closes a field that goes on (',' expected after '\"'): a stray or "
            "unterminated quote? (reading goes on with the next line)",
        ),
        (
            4,
            '5,"open to the end',
            "unparseable",
            "a quoted field is not closed before the end of the file: an "
            "unterminated quote? (reading goes on with the next line)",
        ),
    ]


def test_csv_quote_open_past_max_record_bytes(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('id,text\n1,"never closed\n' + "".join(f"{i},row {i}\n" for i in range(2, 500)))
    rows, rejects = read_all(path, ReadOptions(max_record_bytes=200))
    assert rows.height == 498 and rows["id"].to_list()[:2] == ["2", "3"]
    assert rejects.select("_row", "_raw", "_detail").rows() == [
        (
            0,
            '1,"never closed',
            "a quoted field is still open after 200 bytes (max_record_bytes): an unterminated "
            "quote? (reading goes on with the next line)",
        )
    ]


def test_parquet_columns_that_are_not_text(tmp_path):
    path = tmp_path / "a.parquet"
    pl.DataFrame(
        {
            "id": [0, 1, 2, 3],
            "body": [["a", "b"], None, ["c"], []],
            "blob": [b"caf\xc3\xa9", b"\xff\xfe", None, b"ok"],
            "meta": [{"k": 1}, {"k": 2}, None, {"k": 3}],
        }
    ).write_parquet(path)
    rows, rejects = read_all(path, columns={"text": "body"})
    assert rows.height == 0
    assert rejects.select("_row", "_reason", "_detail").rows() == [
        (0, "wrong_type:text", "'body' holds a list, not text; map a text column"),
        (1, "missing_field:text", "the record has no value for 'body'"),
        (2, "wrong_type:text", "'body' holds a list, not text; map a text column"),
        (3, "wrong_type:text", "'body' holds a list, not text; map a text column"),
    ]
    assert json.loads(rejects["_raw"][0])["text"] == ["a", "b"]
    rows, rejects = read_all(path, columns={"text": "blob"})
    assert rows.select("_row", "text").rows() == [(0, "café"), (3, "ok")]
    assert rejects.select("_row", "_reason", "_detail").rows() == [
        (1, "unparseable", "a mapped column holds bytes that are not valid UTF-8"),
        (2, "missing_field:text", "the record has no value for 'blob'"),
    ]
    _, rejects = read_all(path, columns={"text": "meta"})
    assert rejects["_detail"][0] == "'meta' holds an object, not text; map a text column"


def test_parquet_records_larger_than_max_record_bytes(tmp_path):
    path = tmp_path / "a.parquet"
    pl.DataFrame({"text": ["small", "x" * 300, "small too"], "note": ["n", "n", "y" * 290]}).write_parquet(path)
    rows, rejects = read_all(path, ReadOptions(max_record_bytes=300))
    assert rows["text"].to_list() == ["small", "small too"]  # 9 + 290 bytes: just under
    assert rejects.select("_row", "_reason", "_detail").rows() == [
        (1, "too_large", "the record is 301 bytes; max_record_bytes is 300")
    ]
    assert json.loads(rejects["_raw"][0]) == {"text": "x" * 300, "note": "n"}


def test_a_line_longer_than_a_batch_is_kept_only_in_part(tmp_path):
    """A file without line breaks (or a decompression bomb) must not fill the memory: past a batch and
    max_record_bytes, only the first max_record_bytes of the line are kept, for its reject."""
    long_line = '{"text": "' + "x" * 990 + '"}'
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "before"}, long_line, {"text": "after"}, long_line])
    rows, rejects = read_all(path, ReadOptions(batch_bytes=100, max_record_bytes=50))
    assert rows.select("_row", "text").rows() == [(0, "before"), (2, "after")]
    detail = "the record is 1,002 bytes; max_record_bytes is 50 (its first 50 bytes are kept in _raw)"
    assert rejects.select("_row", "_reason", "_detail", "_raw").rows() == [
        (1, "too_large", detail, long_line[:50]),
        (3, "too_large", detail, long_line[:50]),
    ]
    doc = tmp_path / "doc.txt"
    doc.write_text("y" * 1000)
    _, rejects = read_all(doc, ReadOptions(batch_bytes=100, max_record_bytes=50), txt_unit="file")
    assert rejects.select("_reason", "_detail").rows() == [
        ("too_large", "the record is 1,000 bytes; max_record_bytes is 50 (its first 50 bytes are kept in _raw)")
    ]


def test_json_file_records_larger_than_max_record_bytes(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"text": "ok"}, {"text": "z" * 100}]))
    rows, rejects = read_all(path, ReadOptions(max_record_bytes=50))
    assert rows["text"].to_list() == ["ok"]
    assert rejects.select("_row", "_reason", "_detail").rows() == [
        (1, "too_large", "the record is 112 bytes; max_record_bytes is 50")
    ]


def test_a_damaged_compressed_file_is_an_error_that_names_it(tmp_path):
    import gzip

    from curate.core.errors import InputError
    from curate.io.readers import read_batches

    packed = gzip.compress(b"".join(b'{"text": "row %d"}\n' % i for i in range(10_000)))
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    reader = open_reader(path, Source(path=str(path)), "a.jsonl.gz", ReadOptions(), 0)
    with pytest.raises(InputError) as info:
        list(read_batches(reader, "a.jsonl.gz"))
    assert (
        str(info.value)
        == "a.jsonl.gz can't be read to the end: Truncated compressed stream (a damaged or truncated file?)"
    )

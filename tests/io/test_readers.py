"""Readers: every format, and every kind of bad record becomes a reject with its raw content and a reason."""

import json

import polars as pl
import pytest

from curate.io.readers import ReadOptions, open_reader, row_ids, text_ids
from curate.recipe import Source
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
    path = write_jsonl(tmp_path / "a.jsonl", [
        {"src": "Hello.", "tgt": "Bonjour.", "n": 1},
        '{"src": "broken", ',
        b'{"src": "caf\xe9"}',
        {"tgt": "no source"},
        {"src": None, "tgt": "null source"},
        "",
        {"src": "   ", "tgt": "blank source"},
        "[1, 2]",
        {"src": "Last.", "tgt": "Dernier.", "n": 7},
    ])  # fmt: skip
    rows, rejects = read_all(path, columns={"text": "src", "target": "tgt"})
    assert rows.columns == ["_id", "_source", "_row", "text", "target", "n"]
    assert rows["text"].to_list() == ["Hello.", "Last."]
    assert rows["_row"].to_list() == [0, 8]  # the blank line (5) is not a record, but keeps line numbering
    assert reasons(rejects) == {1: "unparseable", 2: "unparseable", 3: "missing_field:text", 4: "missing_field:text",
                                6: "empty_field:text", 7: "unparseable"}  # fmt: skip
    by_row = {r["_row"]: r for r in rejects.to_dicts()}
    assert by_row[1]["_raw"] == '{"src": "broken", '
    assert by_row[1]["_detail"].startswith("broken JSON")
    assert by_row[2]["_raw"] == '{"src": "caf\\xe9"}'
    assert by_row[2]["_detail"].startswith("invalid UTF-8 at byte 12")
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
    _, rejects = read_all(latin)
    assert rejects["_reason"].to_list() == ["unparseable"]
    assert "set `encoding:` on the source" in rejects["_detail"][0]
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
    rows, rejects = read_all(path)
    assert rows["text"].to_list() == ["good"] and reasons(rejects) == {1: "unparseable"}
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
    path.write_bytes("第一行\n\nline three\r\nbad \xff\n".encode("utf-8").replace(b"\\xff", b"") + b"bad \xff\n")
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
    datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"sentence": ["a", "b", ""], "label": [0, 1, 0]}),
        "test": datasets.Dataset.from_dict({"sentence": ["c"], "label": [1]}),
    }).save_to_disk(str(folder))  # fmt: skip
    rows, rejects = read_all(folder, columns={"text": "sentence"}, split="train")
    assert rows.select("text", "label").rows() == [("a", 0), ("b", 1)]
    assert reasons(rejects) == {2: "empty_field:text"}
    rows, _ = read_all(folder, columns={"text": "sentence"}, split="test")
    assert rows["text"].to_list() == ["c"]


def test_hub_dataset_offline_gives_a_clear_error(tmp_path):
    pytest.importorskip("datasets")
    from curate.errors import InputError

    reader = open_reader(None, Source(hub="someone/not-cached"), "hub:someone/not-cached:train", ReadOptions(), 0)
    with pytest.raises(InputError, match=r"could not load the hub dataset 'someone/not-cached' \(split 'train'\).*"
                                         r"point `path:` at the saved copy"):  # fmt: skip
        list(reader.batches())


def test_ids_hashed_from_the_text_buffer_equal_row_ids():
    texts = pl.Series(["héllo", "", "中文 ok", "x" * 5000, "a\u0000b", "🙂"]).slice(1)  # a slice: offsets inside the buffer
    rows = pl.Series([5, 17, 123456789, 3, 2**40])
    assert text_ids("data/ü.jsonl", rows, texts) == row_ids("data/ü.jsonl", rows.to_list(), texts.to_list())

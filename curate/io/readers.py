"""Readers: files of every format into batches of canonical rows, and bad records into rejects.

A reader never stops on one bad record: a broken JSON line, invalid UTF-8, a record that is too large or that lacks
a mapped column becomes a reject row (with its raw content and a reason), and reading goes on. Rows get their
stable `_id`, `_source` and `_row` here. Reading is batched by bytes and rows, so memory does not grow with a file.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import polars as pl
import xxhash

from curate.errors import CurateError, InputError, MissingDependencyError
from curate.recipe import Source
from curate.stages.base import first_reason
from curate.text import utf8_buffers

META_COLUMNS = ["_id", "_source", "_row"]
REJECT_COLUMNS = {"_id": pl.String, "_source": pl.String, "_row": pl.Int64, "_raw": pl.String,
                  "_reason": pl.String, "_detail": pl.String}  # fmt: skip

EXTENSIONS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".csv": "csv", ".tsv": "tsv",
    ".txt": "txt", ".text": "txt", ".arrow": "arrow",
}  # fmt: skip


@dataclass
class ReadOptions:
    batch_rows: int = 50_000
    batch_bytes: int = 64 << 20
    max_record_bytes: int = 4 << 20


@dataclass
class ReadBatch:
    """One batch of one file: the rows read, and the records that could not become rows."""

    rows: pl.DataFrame
    rejects: pl.DataFrame
    file_index: int
    chunk: int


def detect_format(path: Path, declared: str) -> str:
    if declared != "auto":
        return declared
    if path.is_dir():
        return "arrow"
    suffixes = [s.lower() for s in path.suffixes]
    for suffix in reversed(suffixes):
        if suffix in EXTENSIONS:
            return EXTENSIONS[suffix]
    raise CurateError(
        f"{path}: can't tell the format from the extension; set `format:` on the source "
        f"(one of: {', '.join(sorted(set(EXTENSIONS.values())))})"
    )


def row_ids(source_key: str, rows: list[int], contents: list[str]) -> list[str]:
    """Stable ids: the same record of the same file gets the same id on every run; equal records in two files don't."""
    return [xxhash.xxh3_64_hexdigest(f"{source_key}\x00{r}\x00{c}".encode("utf-8", "surrogatepass")) for r, c in zip(rows, contents)]


def text_ids(source_key: str, rows: pl.Series, texts: pl.Series) -> list[str]:
    """`row_ids` of records whose content is a text column, hashed from the column's UTF-8 buffer (the same bytes)
    without making a Python string of each text."""
    data, offsets = utf8_buffers(texts)
    view, bounds = memoryview(data), offsets.tolist()
    head = f"{source_key}\x00".encode("utf-8", "surrogatepass")
    digest = xxhash.xxh3_64_hexdigest
    return [digest(b"".join((head, b"%d\x00" % r, view[a:b]))) for r, a, b in zip(rows.to_list(), bounds, bounds[1:])]


def _rejects(source_key: str, rows: list[int], raws: list[str], reasons: list[str], details: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {"_id": row_ids(source_key, rows, raws), "_source": [source_key] * len(rows), "_row": rows, "_raw": raws,
         "_reason": reasons, "_detail": details},
        schema=REJECT_COLUMNS,
    )  # fmt: skip


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_COLUMNS)


def _raw_text(data: bytes | str) -> str:
    return data if isinstance(data, str) else data.decode("utf-8", errors="backslashreplace")


def _to_string_column(series: pl.Series) -> pl.Series:
    """A column that must hold text: numbers and booleans become their text, nested values become null."""
    if series.dtype == pl.String:
        return series
    if series.dtype.is_numeric() or series.dtype == pl.Boolean:
        return series.cast(pl.String)
    return pl.Series(series.name, [None] * len(series), dtype=pl.String)


class Canonicalizer:
    """Maps a source's columns to canonical names and turns records without their mapped columns into rejects."""

    def __init__(self, source: Source, source_key: str):
        self.source_key = source_key
        self.mapping = dict(source.columns)
        self.mapping.setdefault("text", "text")
        self.required = list(self.mapping)

    def __call__(self, frame: pl.DataFrame, rows: list[int], raws: list[str] | None) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Canonical rows, and rejects for records without a mapped value. `raws` are the records' original text
        (None: rebuilt as JSON for the rejects only)."""
        renamed = {src: dst for dst, src in self.mapping.items() if src in frame.columns}
        # An unmapped column that has a canonical name would collide with the mapped one: the mapped one wins.
        frame = frame.drop([c for c in frame.columns if c in self.mapping and c not in renamed])
        frame = frame.rename({s: d for s, d in renamed.items() if s != d})
        frame = frame.with_columns(
            [_to_string_column(frame[n]).alias(n) if n in frame.columns else pl.lit(None, pl.String).alias(n)
             for n in self.required]  # fmt: skip
        ).with_columns(pl.Series("_row", rows, dtype=pl.Int64))
        problems = [(pl.col(n).is_null(), f"missing_field:{n}") for n in self.required]
        problems.append((pl.col("text").str.strip_chars().str.len_chars() == 0, "empty_field:text"))
        frame = frame.with_columns(first_reason(*problems).alias("_reason"))
        bad = frame["_reason"].is_not_null()
        good = frame.filter(~bad).drop("_reason")
        good = good.with_columns(
            pl.Series("_id", text_ids(self.source_key, good["_row"], good["text"]), dtype=pl.String),
            pl.lit(self.source_key, pl.String).alias("_source"),
        )
        front = META_COLUMNS + self.required
        good = good.select(front + [c for c in good.columns if c not in front])
        if not bad.any():
            return good, empty_rejects()
        bad_frame = frame.filter(bad)
        if raws is None:
            bad_raws = [json.dumps(r, ensure_ascii=False, default=str) for r in bad_frame.drop("_row", "_reason").to_dicts()]
        else:
            bad_raws = [raws[i] for i in bad.arg_true().to_list()]
        details = [
            "the text is empty" if r == "empty_field:text" else f"the record has no value for '{self.mapping[r.split(':', 1)[1]]}'"
            for r in bad_frame["_reason"]
        ]
        rejects = _rejects(self.source_key, bad_frame["_row"].to_list(), bad_raws, bad_frame["_reason"].to_list(), details)
        return good, rejects


def _records_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """Records parsed one by one into a frame. A field whose values mix kinds (a number here, an object there) is
    kept as JSON text rather than nulled by type inference."""
    keys = list(dict.fromkeys(k for r in records for k in r))
    columns = {}
    for key in keys:
        values = [r.get(key) for r in records]
        kinds = {type(v) for v in values if v is not None}
        if len(kinds) > 1 and not kinds <= {int, float}:
            values = [v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values]
        columns[key] = values
    return pl.DataFrame(columns, strict=False)


class _LineChunks:
    """Splits a text file into chunks of whole lines, bounded by bytes and by line count."""

    def __init__(self, path: Path, encoding: str, options: ReadOptions):
        self.path, self.encoding, self.options = path, encoding.lower().replace("_", "-"), options

    def __iter__(self) -> Iterator[tuple[int, list[bytes]]]:
        """Yields (number of the first line, lines as UTF-8 bytes or undecodable originals)."""
        if self.encoding.startswith(("utf-16", "utf-32")):
            # Not ASCII-compatible: decode the file as a whole, then split.
            text = self.path.read_bytes().decode(self.encoding, errors="surrogateescape")
            lines = [line.encode("utf-8", errors="surrogateescape") for line in text.split("\n")]
            yield from self._batches(0, lines)
            return
        first, carry = 0, b""
        with open(self.path, "rb") as handle:
            start = True
            while True:
                block = handle.read(self.options.batch_bytes)
                if start and block.startswith(b"\xef\xbb\xbf"):
                    block = block[3:]
                start = False
                if not block:
                    if carry:
                        yield from self._batches(first, [self._recode(carry)])
                    return
                block = carry + block
                cut = block.rfind(b"\n")
                if cut < 0:
                    carry = block
                    continue
                carry = block[cut + 1 :]
                lines = [self._recode(line) for line in block[:cut].split(b"\n")]
                yield from self._batches(first, lines)
                first += len(lines)

    def _recode(self, line: bytes) -> bytes:
        if line.endswith(b"\r"):
            line = line[:-1]
        if self.encoding in ("utf-8", "utf8", "utf-8-sig"):
            return line
        return line.decode(self.encoding, errors="surrogateescape").encode("utf-8", errors="surrogateescape")

    def _batches(self, first: int, lines: list[bytes]) -> Iterator[tuple[int, list[bytes]]]:
        step = self.options.batch_rows
        for i in range(0, len(lines), step):
            yield first + i, lines[i : i + step]


def _decode_error(line: bytes) -> str | None:
    try:
        line.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start} (set `encoding:` on the source if the file is not UTF-8)"


class Reader:
    """Base of the file readers: `batches()` yields ReadBatch for one file."""

    def __init__(self, path: Path, source: Source, source_key: str, options: ReadOptions, file_index: int):
        self.path, self.source, self.source_key, self.options = path, source, source_key, options
        self.file_index = file_index
        self.canonical = Canonicalizer(source, source_key)

    def batches(self) -> Iterator[ReadBatch]:
        raise NotImplementedError

    def _columnar(self, frames: Iterable[pl.DataFrame]) -> Iterator[ReadBatch]:
        """Batches of a columnar source (parquet, arrow), rows numbered across them."""
        start = 0
        for chunk, frame in enumerate(frames):
            yield ReadBatch(*self.canonical(frame, list(range(start, start + frame.height)), None), self.file_index, chunk)
            start += frame.height

    def _split_oversize(self, numbered: list[tuple[int, bytes]]) -> tuple[list[tuple[int, bytes]], pl.DataFrame]:
        limit = self.options.max_record_bytes
        big = [(r, line) for r, line in numbered if len(line) > limit]
        if not big:
            return numbered, empty_rejects()
        small = [(r, line) for r, line in numbered if len(line) <= limit]
        rejects = _rejects(
            self.source_key, [r for r, _ in big], [_raw_text(line) for _, line in big], ["too_large"] * len(big),
            [f"the record is {len(line):,} bytes; max_record_bytes is {limit:,}" for _, line in big],
        )  # fmt: skip
        return small, rejects


class JsonLinesReader(Reader):
    def batches(self) -> Iterator[ReadBatch]:
        for chunk, (first, lines) in enumerate(_LineChunks(self.path, self.source.encoding, self.options)):
            numbered = [(first + i, line) for i, line in enumerate(lines) if line.strip()]
            numbered, too_large = self._split_oversize(numbered)
            rows, rejects = self._parse(numbered)
            yield ReadBatch(rows, pl.concat([too_large, rejects]), self.file_index, chunk)

    def _parse(self, numbered: list[tuple[int, bytes]]) -> tuple[pl.DataFrame, pl.DataFrame]:
        if not numbered:
            return self.canonical(pl.DataFrame(), [], [])
        try:  # fast path: the whole batch parses
            frame = pl.read_ndjson(io.BytesIO(b"\n".join(line for _, line in numbered)), infer_schema_length=None)
            if frame.height == len(numbered):
                return self.canonical(frame, [r for r, _ in numbered], [_raw_text(line) for _, line in numbered])
        except Exception:
            pass
        records, ok_rows, ok_raws = [], [], []
        bad_rows, bad_raws, bad_details = [], [], []
        for row, line in numbered:
            problem = _decode_error(line)
            if problem is None:
                try:
                    record = json.loads(line)
                    if not isinstance(record, dict):
                        problem = f"a JSON line must hold an object, not {type(record).__name__}"
                except json.JSONDecodeError as exc:
                    problem = f"broken JSON: {exc.msg} at column {exc.colno}"
            if problem is None:
                records.append(record)
                ok_rows.append(row)
                ok_raws.append(_raw_text(line))
            else:
                bad_rows.append(row)
                bad_raws.append(_raw_text(line))
                bad_details.append(problem)
        rows, missing = self.canonical(_records_frame(records) if records else pl.DataFrame(), ok_rows, ok_raws)
        broken = _rejects(self.source_key, bad_rows, bad_raws, ["unparseable"] * len(bad_rows), bad_details)
        return rows, pl.concat([broken, missing])


class TextReader(Reader):
    """txt: one row per non-empty line, or one row per file (`txt_unit: file`)."""

    def batches(self) -> Iterator[ReadBatch]:
        if self.source.txt_unit == "file":
            data = self.path.read_bytes()
            numbered, too_large = self._split_oversize([(0, data)])
            yield ReadBatch(*self._rows(numbered, too_large), self.file_index, 0)
            return
        for chunk, (first, lines) in enumerate(_LineChunks(self.path, self.source.encoding, self.options)):
            numbered = [(first + i, line) for i, line in enumerate(lines) if line.strip()]
            numbered, too_large = self._split_oversize(numbered)
            yield ReadBatch(*self._rows(numbered, too_large), self.file_index, chunk)

    def _rows(self, numbered: list[tuple[int, bytes]], too_large: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        if self.source.txt_unit == "file" and self.source.encoding.lower() not in ("utf-8", "utf8"):
            numbered = [(r, d.decode(self.source.encoding, "surrogateescape").encode("utf-8", "surrogateescape"))
                        for r, d in numbered]  # fmt: skip
        problems = [(r, line, _decode_error(line)) for r, line in numbered]
        good = [(r, line.decode("utf-8")) for r, line, p in problems if p is None]
        bad = [(r, line, p) for r, line, p in problems if p is not None]
        frame = pl.DataFrame({"text": [t for _, t in good]}, schema={"text": pl.String})
        rows, missing = self.canonical(frame, [r for r, _ in good], [t for _, t in good])
        broken = _rejects(self.source_key, [r for r, _, _ in bad], [_raw_text(line) for _, line, _ in bad],
                          ["unparseable"] * len(bad), [p for _, _, p in bad])  # fmt: skip
        return rows, pl.concat([too_large, broken, missing])


class JsonReader(Reader):
    """json: one array of objects (or an object holding one such array); the whole file is read at once."""

    def batches(self) -> Iterator[ReadBatch]:
        data = self.path.read_bytes()
        problem = _decode_error(data) if self.source.encoding.lower() in ("utf-8", "utf8") else None
        records: Any = None
        if problem is None:
            try:
                records = json.loads(data.decode(self.source.encoding).lstrip("\ufeff"))
            except json.JSONDecodeError as exc:
                problem = f"broken JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        if isinstance(records, dict):
            lists = [v for v in records.values() if isinstance(v, list)]
            records = lists[0] if len(lists) == 1 else None
            if records is None:
                problem = "a JSON file must hold an array of records, or an object with exactly one array"
        if problem is not None:
            yield ReadBatch(empty_rows(), _rejects(self.source_key, [0], [_raw_text(data)], ["unparseable"], [problem]),
                            self.file_index, 0)  # fmt: skip
            return
        step = self.options.batch_rows
        for chunk, start in enumerate(range(0, max(len(records), 1), step)):
            part = records[start : start + step]
            numbered = list(enumerate(part, start))
            good = [(r, rec) for r, rec in numbered if isinstance(rec, dict)]
            bad = [(r, rec) for r, rec in numbered if not isinstance(rec, dict)]
            frame = _records_frame([rec for _, rec in good]) if good else pl.DataFrame()
            raws = [json.dumps(rec, ensure_ascii=False) for _, rec in good]
            rows, missing = self.canonical(frame, [r for r, _ in good], raws)
            broken = _rejects(self.source_key, [r for r, _ in bad], [json.dumps(x, ensure_ascii=False) for _, x in bad],
                              ["unparseable"] * len(bad), ["a record must be a JSON object"] * len(bad))  # fmt: skip
            yield ReadBatch(rows, pl.concat([broken, missing]), self.file_index, chunk)


class CsvReader(Reader):
    """csv/tsv with a header row; a row with the wrong number of fields or undecodable bytes is a reject."""

    def batches(self) -> Iterator[ReadBatch]:
        delimiter = "\t" if detect_format(self.path, self.source.format) == "tsv" else ","
        csv.field_size_limit(2**31 - 1)
        encoding = "utf-8-sig" if self.source.encoding.lower() in ("utf-8", "utf8") else self.source.encoding
        with open(self.path, encoding=encoding, errors="surrogateescape", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                return
            chunk, block = 0, []
            for row_number, fields in enumerate(reader):
                block.append((row_number, fields))
                if len(block) >= self.options.batch_rows:
                    yield self._batch(header, block, chunk)
                    chunk, block = chunk + 1, []
            if block or chunk == 0:
                yield self._batch(header, block, chunk)

    def _batch(self, header: list[str], block: list[tuple[int, list[str]]], chunk: int) -> ReadBatch:
        width, limit = len(header), self.options.max_record_bytes
        good, bad = [], []
        for row, fields in block:
            raw = ",".join(fields)
            if len(fields) != width:
                bad.append((row, raw, "unparseable", f"expected {width} fields, found {len(fields)}"))
            elif any("\udc80" <= ch <= "\udcff" for f in fields for ch in f if ch >= "\udc80"):
                bad.append((row, raw, "unparseable", "invalid bytes for the file's encoding (set `encoding:`)"))
            elif len(raw.encode("utf-8", "surrogateescape")) > limit:
                bad.append((row, raw, "too_large", f"the record is larger than max_record_bytes ({limit:,})"))
            else:
                good.append((row, fields))
        frame = pl.DataFrame([f for _, f in good], schema=header, orient="row") if good else \
            pl.DataFrame(schema={h: pl.String for h in header})  # fmt: skip
        raws = [",".join(f) for _, f in good]
        rows, missing = self.canonical(frame, [r for r, _ in good], raws)
        broken = _rejects(self.source_key, [b[0] for b in bad], [b[1].encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") for b in bad],
                          [b[2] for b in bad], [b[3] for b in bad])  # fmt: skip
        return ReadBatch(rows, pl.concat([broken, missing]), self.file_index, chunk)


class ParquetReader(Reader):
    def batches(self) -> Iterator[ReadBatch]:
        import pyarrow.parquet as pq

        try:
            handle = pq.ParquetFile(self.path)
        except Exception as exc:
            raise InputError(f"{self.path}: not a readable parquet file ({exc})") from None
        yield from self._columnar(pl.from_arrow(b) for b in handle.iter_batches(batch_size=self.options.batch_rows))


class DatasetsReader(Reader):
    """A folder written by `datasets.Dataset.save_to_disk` (or a DatasetDict: the source's `split`)."""

    def _dataset(self):
        try:
            import datasets
        except ImportError:
            raise MissingDependencyError("reading a `datasets` folder", "datasets", "hf") from None
        try:
            data = datasets.load_from_disk(str(self.path))
        except Exception as exc:
            raise InputError(f"{self.path}: not a folder saved with datasets' save_to_disk ({exc})") from None
        if isinstance(data, datasets.DatasetDict):
            if self.source.split not in data:
                raise InputError(f"{self.path}: no split '{self.source.split}' (splits: {', '.join(data)})")
            data = data[self.source.split]
        return data

    def batches(self) -> Iterator[ReadBatch]:
        data = self._dataset().with_format("arrow")
        yield from self._columnar(pl.from_arrow(t) for t in data.iter(batch_size=self.options.batch_rows))


class HubReader(DatasetsReader):
    """A Hugging Face hub dataset id, streamed; needs the network (or the local hub cache)."""

    def _dataset(self):
        try:
            import datasets
        except ImportError:
            raise MissingDependencyError("reading a hub dataset", "datasets", "hf") from None
        try:
            return datasets.load_dataset(self.source.hub, split=self.source.split)
        except Exception as exc:
            raise InputError(
                f"could not load the hub dataset '{self.source.hub}' (split '{self.source.split}'): {exc}. "
                "If this machine is offline, download it where you can and point `path:` at the saved copy."
            ) from None


READERS: dict[str, type[Reader]] = {
    "jsonl": JsonLinesReader, "json": JsonReader, "csv": CsvReader, "tsv": CsvReader, "txt": TextReader,
    "parquet": ParquetReader, "arrow": DatasetsReader, "hub": HubReader,
}  # fmt: skip


def empty_rows() -> pl.DataFrame:
    return pl.DataFrame(schema={"_id": pl.String, "_source": pl.String, "_row": pl.Int64, "text": pl.String})


def open_reader(path: Path | None, source: Source, source_key: str, options: ReadOptions, file_index: int) -> Reader:
    fmt = "hub" if source.hub else detect_format(path, source.format)
    return READERS[fmt](path, source, source_key, options, file_index)


def peek_columns(path: Path, source: Source, sample: int = 200) -> set[str] | None:
    """The columns of a file, from its schema or its first records; None where a format has no columns to check."""
    fmt = detect_format(path, source.format)
    if fmt == "txt":
        return {"text"}
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return set(pq.read_schema(path).names)
    if fmt in ("csv", "tsv"):
        encoding = "utf-8-sig" if source.encoding.lower() in ("utf-8", "utf8") else source.encoding
        with open(path, encoding=encoding, errors="replace", newline="") as handle:
            return set(next(csv.reader(handle, delimiter="\t" if fmt == "tsv" else ","), []))
    if fmt == "jsonl":
        keys: set[str] = set()
        with open(path, "rb") as handle:
            for _, line in zip(range(sample), handle):
                try:
                    record = json.loads(line.decode(source.encoding, errors="replace").lstrip("\ufeff"))
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    keys.update(record)
        return keys
    return None

"""Readers: files of every format into batches of canonical rows, and bad records into rejects.

A reader never stops on one bad record: a broken JSON line, invalid UTF-8, a lone surrogate, JSON nested absurdly
deep, a CSV quote that is never closed, a record that is too large, that lacks a mapped column or whose column holds
a list instead of text becomes a reject row (with its raw content and a reason), and reading goes on. Rows get their
stable `_id`, `_source` and `_row` here. Reading is batched by bytes and rows, so memory does not grow with a file
(a line longer than a batch is kept only in part, in its reject). An empty file is zero records. Compressed files
(`.gz`, `.zst`, `.bz2`, `.xz`, `.lz4`) are read as streams.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl
import xxhash

from curate.core.errors import CurateError, InputError, MissingDependencyError
from curate.core.rows import META_COLUMNS, RAW_BYTES, REJECT_COLUMNS, first_reason
from curate.core.text import utf8_buffers
from curate.io.compressed import compression_of, open_input
from curate.io.encoding import UTF8, RecordDecoder, is_wide, resolve_encoding


class Source(Protocol):
    """What a reader needs to know about a source (a recipe's `sources` entry provides it)."""

    hub: str | None
    split: str
    format: str
    columns: dict[str, str]
    encoding: str | None
    txt_unit: str


EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "txt",
    ".text": "txt",
    ".arrow": "arrow",
}
MAX_JSON_DEPTH = 100  # deeper records are rejected: no text record needs it, and deeper ones break the tools
# `\ud800` not followed by a low surrogate escape, or `\udc00` not preceded by a high one: half a character
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


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
    stats: Counter = field(default_factory=Counter)  # the file's encoding, records decoded on their own


def data_format(path: Path) -> str | None:
    """The format its last extension names, under a compression suffix (`a.jsonl.gz`: jsonl); None for other
    files (a folder source reads only these)."""
    name = path.with_suffix("") if compression_of(path) else path
    return EXTENSIONS.get(name.suffix.lower())


def detect_format(path: Path, declared: str) -> str:
    if path.is_dir():
        return "arrow" if declared == "auto" else declared
    compressed = compression_of(path)
    fmt = declared
    if fmt == "auto":
        name = path.with_suffix("") if compressed else path
        fmt = next((EXTENSIONS[s] for s in reversed([s.lower() for s in name.suffixes]) if s in EXTENSIONS), None)
    if fmt is None:
        raise CurateError(
            f"{path}: can't tell the format from the extension; set `format:` on the source "
            f"(one of: {', '.join(sorted(set(EXTENSIONS.values())))})"
        )
    if compressed and fmt in ("parquet", "arrow"):
        raise CurateError(
            f"{path}: a {compressed}-compressed {fmt} file can't be read; decompress it first "
            "(parquet compresses its own pages)"
        )
    return fmt


def row_ids(source_key: str, rows: list[int], contents: list[str]) -> list[str]:
    """Stable ids: the same record of the same file gets the same id on every run; equal records in two files don't."""
    return [
        xxhash.xxh3_64_hexdigest(f"{source_key}\x00{r}\x00{c}".encode("utf-8", "surrogatepass"))
        for r, c in zip(rows, contents)
    ]


def text_ids(source_key: str, rows: pl.Series, texts: pl.Series) -> list[str]:
    """`row_ids` of records whose content is a text column, hashed from the column's UTF-8 buffer (the same bytes)
    without making a Python string of each text."""
    data, offsets = utf8_buffers(texts)
    view, bounds = memoryview(data), offsets.tolist()
    head = f"{source_key}\x00".encode("utf-8", "surrogatepass")
    digest = xxhash.xxh3_64_hexdigest
    return [digest(b"".join((head, b"%d\x00" % r, view[a:b]))) for r, a, b in zip(rows.to_list(), bounds, bounds[1:])]


def _rejects(
    source_key: str, rows: list[int], raws: list[str | bytes], reasons: list[str], details: list[str]
) -> pl.DataFrame:
    """Reject rows. A raw record that is text goes to `_raw` (a lone surrogate shown as `\\ud800`); one that is bytes no
    encoding read goes, exactly as it was, to `_raw_bytes` (a column only reject frames that need it have)."""
    shown = [None if isinstance(r, bytes) else r.encode("utf-8", "backslashreplace").decode("utf-8") for r in raws]
    keys = [r.decode("utf-8", "backslashreplace") if isinstance(r, bytes) else r for r in raws]
    frame = pl.DataFrame(
        {
            "_id": row_ids(source_key, rows, keys),
            "_source": [source_key] * len(rows),
            "_row": rows,
            "_raw": shown,
            "_reason": reasons,
            "_detail": details,
        },
        schema=REJECT_COLUMNS,
    )
    if any(isinstance(r, bytes) for r in raws):
        frame = frame.with_columns(pl.Series(RAW_BYTES, [r if isinstance(r, bytes) else None for r in raws], pl.Binary))
    return frame


def concat_rejects(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Reject frames together, with `_raw_bytes` where any of them has it."""
    return pl.concat(frames, how="diagonal")


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_COLUMNS)


def _raw_text(data: bytes | str) -> str | bytes:
    """A record as text when it is UTF-8 (a line kept only in part may end in the middle of a character), else its
    bytes as they are: never a lossy decode."""
    if isinstance(data, str):
        return data
    if isinstance(data, LongLine):
        try:
            return codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
        except UnicodeDecodeError:
            return bytes(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return bytes(data)


def not_text_kind(dtype: pl.DataType) -> str | None:
    """What a column holds when it cannot be read as text (`a list`, `an object`), else None: text, numbers and
    booleans (which become their text) and binary (decoded as UTF-8)."""
    if dtype in (pl.String, pl.Binary, pl.Boolean, pl.Null) or dtype.is_numeric():
        return None
    if isinstance(dtype, (pl.List, pl.Array)):
        return "a list"
    return "an object" if isinstance(dtype, pl.Struct) else f"{dtype} values"


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """The column as text; nested values become null (the record is rejected)."""
    if dtype == pl.String:
        return pl.col(name)
    if not_text_kind(dtype) is not None:
        return pl.lit(None, pl.String).alias(name)
    return pl.col(name).cast(pl.String)


def _decode_utf8(series: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Bytes as text, and which values are not UTF-8 (null there). A loop: polars can't decode leniently, and few
    files keep their text as bytes."""
    texts, broken = [], []
    for value in series.to_list():
        try:
            texts.append(None if value is None else value.decode("utf-8"))
            broken.append(False)
        except UnicodeDecodeError:
            texts.append(None)
            broken.append(True)
    return pl.Series(series.name, texts, pl.String), pl.Series(f"_not_utf8_{series.name}", broken)


def record_bytes(frame: pl.DataFrame) -> pl.Expr:
    """Bytes of each record's text and binary values (the size of a record read as columns)."""
    sizes = [pl.col(c).str.len_bytes() for c, t in frame.schema.items() if t == pl.String]
    sizes += [pl.col(c).bin.size() for c, t in frame.schema.items() if t == pl.Binary]
    return pl.sum_horizontal(sizes).fill_null(0) if sizes else pl.lit(0)


class Canonicalizer:
    """Maps a source's columns to canonical names and turns records without their mapped columns into rejects."""

    def __init__(self, source: Source, source_key: str, max_record_bytes: int | None = None):
        self.source_key = source_key
        self.mapping = dict(source.columns)
        self.mapping.setdefault("text", "text")
        self.required = list(self.mapping)
        self.max_record_bytes = max_record_bytes  # checked here for records read as columns (`raws` is None)

    def _value_problems(self, frame: pl.DataFrame, sized: bool) -> list[tuple[pl.Expr, str]]:
        """Records too large, and mapped columns whose values are not text: judged on the columns as read."""
        problems = [(pl.col("_bytes") > self.max_record_bytes, "too_large")] if sized else []
        for name in self.required:
            dtype = frame.schema.get(name)
            if f"_not_utf8_{name}" in frame.columns:
                problems.append((pl.col(f"_not_utf8_{name}"), "unparseable"))
            elif dtype is not None and not_text_kind(dtype) is not None:
                problems.append((pl.col(name).is_not_null(), f"wrong_type:{name}"))
        return problems

    def _detail(self, reason: str, size: int | None, original: pl.DataFrame) -> str:
        field = reason.split(":", 1)[-1]
        if reason == "too_large":
            return f"the record is {size:,} bytes; max_record_bytes is {self.max_record_bytes:,}"
        if reason == "unparseable":
            return "a mapped column holds bytes that are not valid UTF-8"
        if reason.startswith("wrong_type:"):
            return f"'{self.mapping[field]}' holds {not_text_kind(original.schema[field])}, not text; map a text column"
        if reason == "empty_field:text":
            return "the text is empty"
        return f"the record has no value for '{self.mapping[field]}'"

    def __call__(
        self, frame: pl.DataFrame, rows: list[int], raws: list[str] | None
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Canonical rows, and rejects for records without a mapped value. `raws` are the records' original text
        (None: records read as columns, rebuilt as JSON for the rejects only)."""
        renamed = {src: dst for dst, src in self.mapping.items() if src in frame.columns}
        # An unmapped column that has a canonical name would collide with the mapped one: the mapped one wins.
        frame = frame.drop([c for c in frame.columns if c in self.mapping and c not in renamed])
        original = frame.rename({s: d for s, d in renamed.items() if s != d})
        sized = raws is None and self.max_record_bytes is not None
        frame = original.with_columns(
            pl.Series("_row", rows, dtype=pl.Int64), *([record_bytes(original).alias("_bytes")] if sized else [])
        )
        binary = [n for n in self.required if frame.schema.get(n) == pl.Binary]
        frame = frame.with_columns([column for n in binary for column in _decode_utf8(frame[n])])
        early = first_reason(*self._value_problems(frame, sized))
        frame = frame.with_columns(early.alias("_reason")).with_columns(
            [
                _as_text(n, frame.schema[n]).alias(n) if n in frame.columns else pl.lit(None, pl.String).alias(n)
                for n in self.required
            ]
        )
        problems = [(pl.col(n).is_null(), f"missing_field:{n}") for n in self.required]
        problems.append((pl.col("text").str.strip_chars().str.len_chars() == 0, "empty_field:text"))
        frame = frame.with_columns(pl.coalesce("_reason", first_reason(*problems)).alias("_reason"))
        frame = frame.drop([c for c in frame.columns if c.startswith("_not_utf8_")])
        if sized:
            frame, sizes = frame.drop("_bytes"), frame["_bytes"]
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
            bad_raws = [json.dumps(r, ensure_ascii=False, default=str) for r in original.filter(bad).to_dicts()]
        else:
            bad_raws = [raws[i] for i in bad.arg_true().to_list()]
        bad_sizes = sizes.filter(bad).to_list() if sized else [None] * bad_frame.height
        details = [self._detail(r, n, original) for r, n in zip(bad_frame["_reason"], bad_sizes)]
        rejects = _rejects(
            self.source_key, bad_frame["_row"].to_list(), bad_raws, bad_frame["_reason"].to_list(), details
        )
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


class LongLine(bytes):
    """The first bytes of a line too long to hold in memory; `size` is the length of the whole line."""

    size: int

    @classmethod
    def of(cls, head: bytes, size: int) -> LongLine:
        line = cls(head)
        line.size = size
        return line


def line_size(line: bytes) -> int:
    return getattr(line, "size", len(line))


class _LineChunks:
    """Splits a text file into chunks of whole lines, bounded by bytes and by line count. A line longer than a batch
    (and than `max_record_bytes`: it will be rejected as too large) is kept only in part, so that a file without
    line breaks, or a decompression bomb, does not fill the memory. Lines are the file's bytes (decoded batch by
    batch, `Reader._decode`), except for UTF-16/32, which is decoded to UTF-8 here to find its lines."""

    def __init__(self, path: Path, encoding: str, options: ReadOptions):
        self.path, self.encoding, self.options = path, encoding, options
        self.longest = options.batch_bytes + options.max_record_bytes

    def _blocks(self, handle) -> Iterator[bytes]:
        """The file in blocks: UTF-16/32 decoded to UTF-8, other encodings as they are, without a UTF-8 BOM."""
        size = self.options.batch_bytes
        if is_wide(self.encoding):
            decoder = codecs.getincrementaldecoder(self.encoding)(errors="surrogateescape")
            while block := handle.read(size):
                yield decoder.decode(block).encode("utf-8", errors="surrogateescape")
            yield decoder.decode(b"", final=True).encode("utf-8", errors="surrogateescape")
            return
        block = handle.read(size)
        yield block[3:] if block.startswith(b"\xef\xbb\xbf") else block
        while block := handle.read(size):
            yield block

    def __iter__(self) -> Iterator[tuple[int, list[bytes]]]:
        """Yields (number of the first line, lines as UTF-8 bytes or undecodable originals)."""
        first, carry, long_size = 0, b"", None  # long_size: length so far of a line kept only in part (in carry)
        with open_input(self.path) as handle:
            for block in self._blocks(handle):
                head = []
                if long_size is not None:
                    cut = block.find(b"\n")
                    if cut < 0:
                        long_size += len(block)
                        continue
                    head = [LongLine.of(_no_cr(carry), long_size + cut)]
                    carry, block, long_size = b"", block[cut + 1 :], None
                block = carry + block
                cut = block.rfind(b"\n")
                if cut < 0:
                    carry = block
                    if len(carry) > self.longest:
                        carry, long_size = carry[: self.options.max_record_bytes], len(carry)
                    lines = head
                else:
                    carry = block[cut + 1 :]
                    lines = head + [_no_cr(line) for line in block[:cut].split(b"\n")]
                yield from self._batches(first, lines)
                first += len(lines)
            if long_size is not None:
                yield from self._batches(first, [LongLine.of(_no_cr(carry), long_size)])
            elif carry:
                yield from self._batches(first, [_no_cr(carry)])

    def _batches(self, first: int, lines: list[bytes]) -> Iterator[tuple[int, list[bytes]]]:
        step = self.options.batch_rows
        for i in range(0, len(lines), step):
            yield first + i, lines[i : i + step]


def _no_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (without recursion)."""
    depth, level = 0, [(value, 1)]
    while level:
        item, d = level.pop()
        if isinstance(item, (dict, list)):
            depth = max(depth, d)
            level.extend((v, d + 1) for v in (item.values() if isinstance(item, dict) else item))
    return depth


def schema_depth(schema: pl.Schema | dict) -> int:
    """How deeply the types of a frame read from JSON nest."""

    def depth(dtype: pl.DataType) -> int:
        if isinstance(dtype, (pl.List, pl.Array)):
            return 1 + depth(dtype.inner)
        if isinstance(dtype, pl.Struct):
            return 1 + max((depth(f.dtype) for f in dtype.fields), default=0)
        return 0

    return 1 + max((depth(t) for t in schema.values()), default=0)


TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"


def json_value_problem(value: Any, brackets: int, surrogate_escapes: bool) -> str | None:
    """Why a parsed JSON value can't be a record, else None: nesting deeper than MAX_JSON_DEPTH, or a lone
    surrogate (an escaped half of a UTF-16 pair: not text, and no parquet file can hold it). The cheap tests on its
    JSON come first: `brackets` counts its `[` and `{`; `surrogate_escapes`: it has something like `\\ud800`."""
    if brackets > MAX_JSON_DEPTH and json_depth(value) > MAX_JSON_DEPTH:
        return TOO_DEEP
    if not surrogate_escapes:
        return None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"a lone surrogate {exc.object[exc.start]!r} (half of a UTF-16 pair) is not text"
    return None


def parse_json(data: bytes | str, with_line: bool = False) -> tuple[Any, str | None]:
    """(value, None), or (None, why it can't be read): broken JSON, or JSON nested too deeply for the parser."""
    try:
        return json.loads(data), None
    except json.JSONDecodeError as exc:
        at = f"line {exc.lineno} column {exc.colno}" if with_line else f"column {exc.colno}"
        return None, f"broken JSON: {exc.msg} at {at}"
    except RecursionError:
        return None, TOO_DEEP


def _decode_error(line: bytes) -> str | None:
    try:
        line.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start} (set `encoding:` on the source; `auto` decodes such records on their own)"


class Reader:
    """Base of the file readers: `batches()` yields ReadBatch for one file."""

    def __init__(self, path: Path, source: Source, source_key: str, options: ReadOptions, file_index: int):
        self.path, self.source, self.source_key, self.options = path, source, source_key, options
        self.file_index = file_index
        self.canonical = Canonicalizer(source, source_key, options.max_record_bytes)
        self._decoder: RecordDecoder | None = None

    def batches(self) -> Iterator[ReadBatch]:
        raise NotImplementedError

    @property
    def decoder(self) -> RecordDecoder:
        """The file's text encoding (detected on first use, when the recipe does not name it) and its decoder."""
        if self._decoder is None:
            self._decoder = RecordDecoder(resolve_encoding(self.path, self.source.encoding))
        return self._decoder

    def _stats(self, decoded: Counter | None, rejects: pl.DataFrame) -> Counter:
        """A batch's figures for the manifest: the file's encoding and how it was found, the records decoded on their
        own (`fallback:<encoding>`) and those no encoding read (`undecodable`; read as UTF-8, the rejects that kept
        their bytes)."""
        encoding = self.decoder.encoding
        stats = Counter({f"file_encoding:{encoding.name}": 1, f"detected_by:{encoding.how}": 1, **(decoded or {})})
        if self.decoder.passthrough and RAW_BYTES in rejects.columns:
            kept_bytes = (pl.col("_reason") == "unparseable") & pl.col(RAW_BYTES).is_not_null()
            stats["undecodable"] += rejects.select(kept_bytes.sum()).item()
        return +stats

    def _decode(self, numbered: list[tuple[int, bytes]]) -> tuple[list[tuple[int, bytes]], pl.DataFrame, Counter]:
        """Records as UTF-8, the rejects of those no encoding read (their bytes kept as they are), and the figures."""
        raws = [line for _, line in numbered]
        if self.decoder.as_read(raws):
            return numbered, empty_rejects(), Counter()
        decoded = self.decoder.decode(raws)
        good = [(r, text.encode("utf-8")) for (r, _), text in zip(numbered, decoded.texts) if text is not None]
        bad = [(r, line, problem) for (r, line), problem in zip(numbered, decoded.problems) if problem is not None]
        rejects = _rejects(
            self.source_key,
            [r for r, _, _ in bad],
            [bytes(line) for _, line, _ in bad],
            ["unparseable"] * len(bad),
            [p for _, _, p in bad],
        )
        return good, rejects, decoded.stats

    def _columnar(self, frames: Iterable[pl.DataFrame]) -> Iterator[ReadBatch]:
        """Batches of a columnar source (parquet, arrow), rows numbered across them."""
        start = 0
        for chunk, frame in enumerate(frames):
            yield ReadBatch(
                *self.canonical(frame, list(range(start, start + frame.height)), None), self.file_index, chunk
            )
            start += frame.height

    def _split_oversize(self, numbered: list[tuple[int, bytes]]) -> tuple[list[tuple[int, bytes]], pl.DataFrame]:
        limit = self.options.max_record_bytes
        big = [(r, line) for r, line in numbered if line_size(line) > limit]
        if not big:
            return numbered, empty_rejects()
        small = [(r, line) for r, line in numbered if line_size(line) <= limit]
        rejects = _rejects(
            self.source_key,
            [r for r, _ in big],
            [_raw_text(line) for _, line in big],
            ["too_large"] * len(big),
            [
                f"the record is {line_size(line):,} bytes; max_record_bytes is {limit:,}"
                + (f" (its first {len(line):,} bytes are kept in _raw)" if isinstance(line, LongLine) else "")
                for _, line in big
            ],
        )
        return small, rejects


class JsonLinesReader(Reader):
    def batches(self) -> Iterator[ReadBatch]:
        for chunk, (first, lines) in enumerate(_LineChunks(self.path, self.decoder.name, self.options)):
            numbered = [(first + i, line) for i, line in enumerate(lines) if line.strip()]
            numbered, too_large = self._split_oversize(numbered)
            numbered, undecodable, decoded = self._decode(numbered)
            rows, rejects = self._parse(numbered)
            rejects = concat_rejects([too_large, undecodable, rejects])
            yield ReadBatch(rows, rejects, self.file_index, chunk, self._stats(decoded, rejects))

    def _parse(self, numbered: list[tuple[int, bytes]]) -> tuple[pl.DataFrame, pl.DataFrame]:
        if not numbered:
            return self.canonical(pl.DataFrame(), [], [])
        data = b"\n".join(line for _, line in numbered)
        if not _LONE_SURROGATE.search(data):  # polars would turn half a surrogate pair into NUL: judged line by line
            try:  # fast path: the whole batch parses
                frame = pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
                if frame.height == len(numbered) and schema_depth(frame.schema) <= MAX_JSON_DEPTH:
                    return self.canonical(frame, [r for r, _ in numbered], [_raw_text(line) for _, line in numbered])
            except Exception:
                pass
        records, ok_rows, ok_raws = [], [], []
        bad_rows, bad_raws, bad_details = [], [], []
        for row, line in numbered:
            problem = _decode_error(line)
            if problem is None:
                record, problem = parse_json(line)
            if problem is None:
                brackets = line.count(b"[") + line.count(b"{")
                problem = json_value_problem(record, brackets, bool(_LONE_SURROGATE.search(line)))
            if problem is None and not isinstance(record, dict):
                problem = f"a JSON line must hold an object, not {type(record).__name__}"
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
        return rows, concat_rejects([broken, missing])


class TextReader(Reader):
    """txt: one row per non-empty line, or one row per file (`txt_unit: file`)."""

    def batches(self) -> Iterator[ReadBatch]:
        if self.source.txt_unit == "file":
            data = self._whole_file()
            if not data:
                return  # an empty file is no record
            yield self._batch([(0, data)], 0)
            return
        for chunk, (first, lines) in enumerate(_LineChunks(self.path, self.decoder.name, self.options)):
            yield self._batch([(first + i, line) for i, line in enumerate(lines) if line.strip()], chunk)

    def _batch(self, numbered: list[tuple[int, bytes]], chunk: int) -> ReadBatch:
        numbered, too_large = self._split_oversize(numbered)
        if self.source.txt_unit == "file" and is_wide(self.decoder.name):  # lines of UTF-16/32 are decoded as read
            numbered = [
                (r, d.decode(self.decoder.name, "surrogateescape").encode("utf-8", "surrogateescape"))
                for r, d in numbered
            ]
        numbered, undecodable, decoded = self._decode(numbered)
        rows, rejects = self._rows(numbered)
        rejects = concat_rejects([too_large, undecodable, rejects])
        return ReadBatch(rows, rejects, self.file_index, chunk, self._stats(decoded, rejects))

    def _whole_file(self) -> bytes:
        """The file as one record; one larger than a batch is kept only in part (it will be rejected as too large)."""
        longest = self.options.batch_bytes + self.options.max_record_bytes
        with open_input(self.path) as handle:
            data = handle.read(longest + 1)
            if len(data) <= longest:
                return data
            size = len(data)
            while block := handle.read(1 << 20):
                size += len(block)
        return LongLine.of(data[: self.options.max_record_bytes], size)

    def _rows(self, numbered: list[tuple[int, bytes]]) -> tuple[pl.DataFrame, pl.DataFrame]:
        problems = [(r, line, _decode_error(line)) for r, line in numbered]
        good = [(r, line.decode("utf-8")) for r, line, p in problems if p is None]
        bad = [(r, line, p) for r, line, p in problems if p is not None]
        frame = pl.DataFrame({"text": [t for _, t in good]}, schema={"text": pl.String})
        rows, missing = self.canonical(frame, [r for r, _ in good], [t for _, t in good])
        broken = _rejects(
            self.source_key,
            [r for r, _, _ in bad],
            [_raw_text(line) for _, line, _ in bad],
            ["unparseable"] * len(bad),
            [p for _, _, p in bad],
        )
        return rows, concat_rejects([broken, missing])


class JsonReader(Reader):
    """json: one array of objects (or an object holding one such array); the whole file is read at once."""

    def batches(self) -> Iterator[ReadBatch]:
        with open_input(self.path) as handle:
            data = handle.read()
        if not data.strip():
            return  # an empty file is no record
        text, problem, decoded = self._text(data)
        records: Any = None
        if problem is None:
            records, problem = parse_json(text.lstrip("\ufeff"), with_line=True)
        if isinstance(records, dict):
            lists = [v for v in records.values() if isinstance(v, list)]
            records = lists[0] if len(lists) == 1 else None
            if records is None:
                problem = "a JSON file must hold an array of records, or an object with exactly one array"
        if problem is not None:
            raw = text if text is not None else _raw_text(data)
            rejects = _rejects(self.source_key, [0], [raw], ["unparseable"], [problem])
            yield ReadBatch(empty_rows(), rejects, self.file_index, 0, self._stats(decoded, rejects))
            return
        escapes = bool(_LONE_SURROGATE.search(text.encode("utf-8", "surrogatepass")))
        step, limit = self.options.batch_rows, self.options.max_record_bytes
        for chunk, start in enumerate(range(0, max(len(records), 1), step)):
            good, bad = [], []  # (row, record, its JSON); (row, its JSON, reason, detail)
            for row, record in enumerate(records[start : start + step], start):
                raw = json.dumps(record, ensure_ascii=False)
                problem = json_value_problem(record, raw.count("[") + raw.count("{"), escapes)
                size = len(raw.encode("utf-8", "surrogatepass"))
                if problem is None and not isinstance(record, dict):
                    problem = "a record must be a JSON object"
                if problem is not None:
                    bad.append((row, raw, "unparseable", problem))
                elif size > limit:
                    bad.append((row, raw, "too_large", f"the record is {size:,} bytes; max_record_bytes is {limit:,}"))
                else:
                    good.append((row, record, raw))
            frame = _records_frame([rec for _, rec, _ in good]) if good else pl.DataFrame()
            rows, missing = self.canonical(frame, [r for r, _, _ in good], [raw for _, _, raw in good])
            rejects = concat_rejects([_rejects(self.source_key, *([b[i] for b in bad] for i in range(4))), missing])
            yield ReadBatch(
                rows, rejects, self.file_index, chunk, self._stats(decoded if chunk == 0 else None, rejects)
            )

    def _text(self, data: bytes) -> tuple[str | None, str | None, Counter]:
        """(the file as text, None), or (None, why no encoding reads it); and the figures for the manifest."""
        if self.decoder.passthrough:
            name = self.decoder.name
            problem = _decode_error(data) if name == UTF8 else None
            if problem is None:
                try:
                    return data.decode(name), None, Counter()
                except UnicodeDecodeError as exc:
                    problem = f"bytes not valid in {name} at byte {exc.start}"
            return None, problem, Counter()
        decoded = self.decoder.decode([data])
        return decoded.texts[0], decoded.problems[0], decoded.stats


class _OpenQuote(Exception):
    """Raised into csv.reader when a record runs on past max_record_bytes: its quote is never closed."""


class CsvLines:
    """The physical lines a csv.reader pulls (line ends kept), remembering those of the record being read. A quoted
    field still open after `limit` bytes, or at the end of the file, is an unterminated quote: that record's first
    line is a reject and reading goes on from its second line, read again from memory, or from the file when the
    record outgrew the limit. Without this, one stray quote swallows the rest of the file into one field."""

    def __init__(self, open_text: Callable[[], io.TextIOBase], limit: int, bytes_as_text: bool = False):
        self.open_text, self.limit = open_text, limit
        self.size_of = len if bytes_as_text else lambda line: len(line.encode("utf-8", "surrogateescape"))
        self.handle = open_text()
        self.pending: list[str] = []  # lines to read again, the next one last
        self.next_line = 0
        self.start_record()

    def start_record(self) -> None:
        self.lines: list[str] = []
        self.start, self.size, self.quotes, self.hit_end = self.next_line, 0, 0, False

    def __iter__(self) -> CsvLines:
        return self

    def __next__(self) -> str:
        if self.size > self.limit:  # the reader wants more of a record that is already too long
            raise _OpenQuote
        line = self.pending.pop() if self.pending else self.handle.readline()
        if not line:
            self.hit_end = bool(self.lines)
            raise StopIteration
        self.next_line += 1
        self.size += self.size_of(line)
        self.quotes += line.count('"')
        if self.size <= self.limit:
            self.lines.append(line)
        return line

    @property
    def unterminated(self) -> bool:
        """The record just read ended with the file, inside a quoted field."""
        return self.hit_end and self.quotes % 2 == 1

    def first_line(self) -> str:
        return self.lines[0].rstrip("\r\n") if self.lines else ""

    def read_again_from_second_line(self) -> None:
        if self.size <= self.limit:
            self.pending.extend(reversed(self.lines[1:]))
        else:
            self.handle.close()
            self.handle, self.pending = self.open_text(), []
            for _ in range(self.start + 1):
                self.handle.readline()
        self.next_line = self.start + 1

    def close(self) -> None:
        self.handle.close()


_UNCLOSED = "a quoted field is not closed before the end of the file: an unterminated quote?"


def csv_bytes_as_text(decoder: RecordDecoder) -> bool:
    """Is a CSV file parsed byte by byte (latin-1), its records decoded after parsing? Yes unless it is read as
    strict UTF-8 or is UTF-16/32 or a stateful 7-bit encoding (ISO-2022, HZ: their two-byte characters can hold a
    quote or a comma), which are decoded while read. Quotes, separators and line ends are ASCII, which no
    multi-byte character of the other encodings contains, so parsing before decoding finds the same fields."""
    return not decoder.passthrough and decoder.ascii_safe


def open_csv_text(path: Path, decoder: RecordDecoder) -> io.TextIOBase:
    """The file as text for the csv module, line ends kept: byte by byte (`csv_bytes_as_text`), or decoded with
    the bytes not valid in the encoding as surrogates."""
    name = decoder.name
    if csv_bytes_as_text(decoder):
        name = "latin-1"
    elif name == UTF8:
        name = "utf-8-sig"
    return io.TextIOWrapper(open_input(path), encoding=name, errors="surrogateescape", newline="")


def csv_lines(path: Path, decoder: RecordDecoder, limit: int) -> CsvLines:
    return CsvLines(lambda: open_csv_text(path, decoder), limit, csv_bytes_as_text(decoder))


def csv_header(fields: list[str], decoder: RecordDecoder) -> tuple[list[str] | None, str | None]:
    """The header row's names as text (a file parsed byte by byte is decoded here), or (None, why not)."""
    if csv_bytes_as_text(decoder):
        decoded = decoder.decode(["\x00".join(fields).encode("latin-1")])
        if decoded.texts[0] is None:
            return None, decoded.problems[0]
        fields = decoded.texts[0].split("\x00")
    return [fields[0].lstrip("\ufeff"), *fields[1:]] if fields else fields, None


def _delimiter(path: Path, source: Source) -> str:
    return "\t" if detect_format(path, source.format) == "tsv" else ","


def csv_records(lines: CsvLines, delimiter: str) -> Iterator[tuple[list[str] | None, str]]:
    """(fields, "") per record, or (None, why) for a record that is not CSV: its first line is rejected and reading
    goes on from the next line. Strict parsing: a closing quote followed by more text means the quote was stray or
    never closed, so the lines it swallowed are read again as records."""
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    limit = lines.limit
    while True:
        lines.start_record()
        try:
            fields = next(reader)
            if not lines.unterminated:
                yield fields, ""
                continue
            why = _UNCLOSED
        except StopIteration:
            return
        except _OpenQuote:
            why = f"a quoted field is still open after {limit:,} bytes (max_record_bytes): an unterminated quote?"
        except csv.Error as exc:
            why = (
                _UNCLOSED
                if lines.hit_end
                else f"a quote closes a field that goes on ({exc}): a stray or unterminated quote?"
            )
        yield None, why + " (reading goes on with the next line)"
        lines.read_again_from_second_line()


class CsvReader(Reader):
    """csv/tsv with a header row; a row with the wrong number of fields, undecodable bytes or an unterminated quote
    is a reject."""

    def batches(self) -> Iterator[ReadBatch]:
        lines = csv_lines(self.path, self.decoder, self.options.max_record_bytes)
        try:
            records = csv_records(lines, _delimiter(self.path, self.source))
            header, problem = next(records, (None, ""))
            if header is not None:
                header, problem = csv_header(header, self.decoder)
            if problem:
                raise InputError(f"{self.path}: the header row can't be read: {problem}")
            if header is None:
                return  # an empty file is no record
            chunk, block = 0, []
            for row_number, (fields, problem) in enumerate(records):
                block.append((row_number, fields, lines.first_line() if fields is None else "", problem))
                if len(block) >= self.options.batch_rows:
                    yield self._batch(header, block, chunk)
                    chunk, block = chunk + 1, []
            if block or chunk == 0:
                yield self._batch(header, block, chunk)
        finally:
            lines.close()

    def _batch(self, header: list[str], block: list[tuple[int, list[str] | None, str, str]], chunk: int) -> ReadBatch:
        width, limit = len(header), self.options.max_record_bytes
        as_bytes = csv_bytes_as_text(self.decoder)
        size_of = len if as_bytes else lambda raw: len(raw.encode("utf-8", "surrogateescape"))
        good, bad = [], []  # (row, fields); (row, raw as read, reason, detail)
        for row, fields, first_line, problem in block:
            if fields is None:
                bad.append((row, first_line, "unparseable", problem))
                continue
            raw = ",".join(fields)
            if len(fields) != width:
                bad.append((row, raw, "unparseable", f"expected {width} fields, found {len(fields)}"))
            elif as_bytes and any("\x00" in f for f in fields):
                bad.append((row, raw, "unparseable", "a field holds a NUL byte: not text"))
            elif not as_bytes and any("\udc80" <= ch <= "\udcff" for f in fields for ch in f if ch >= "\udc80"):
                bad.append(
                    (
                        row,
                        raw,
                        "unparseable",
                        _decode_error(raw.encode("utf-8", "surrogateescape"))
                        or f"bytes not valid in {self.decoder.name}",
                    )
                )
            elif size_of(raw) > limit:
                bad.append((row, raw, "too_large", f"the record is larger than max_record_bytes ({limit:,})"))
            else:
                good.append((row, fields))
        decoded = Counter()
        if as_bytes:
            good, undecodable, decoded = self._decode_records(good)
            bad += undecodable
        frame = (
            pl.DataFrame([f for _, f in good], schema=header, orient="row")
            if good
            else pl.DataFrame(schema={h: pl.String for h in header})
        )
        raws = [",".join(f) for _, f in good]
        rows, missing = self.canonical(frame, [r for r, _ in good], raws)
        broken = _rejects(
            self.source_key,
            [b[0] for b in bad],
            [self._as_read(b[1]) for b in bad],
            [b[2] for b in bad],
            [b[3] for b in bad],
        )
        rejects = concat_rejects([broken, missing])
        return ReadBatch(rows, rejects, self.file_index, chunk, self._stats(decoded, rejects))

    def _decode_records(self, good: list[tuple[int, list[str]]]) -> tuple[list, list, Counter]:
        """Records parsed byte by byte, decoded (each record's fields together): (rows, rejects, figures)."""
        decoded = self.decoder.decode(["\x00".join(fields).encode("latin-1") for _, fields in good])
        rows = [(row, text.split("\x00")) for (row, _), text in zip(good, decoded.texts) if text is not None]
        bad = [
            (row, ",".join(fields), "unparseable", problem)
            for (row, fields), problem in zip(good, decoded.problems)
            if problem is not None
        ]
        return rows, bad, decoded.stats

    def _as_read(self, raw: str) -> str | bytes:
        """A rejected record as text, or as its bytes when they are not valid in the file's encoding."""
        if csv_bytes_as_text(self.decoder):
            data = raw.encode("latin-1")
            try:
                return data.decode(self.decoder.name)
            except UnicodeDecodeError:
                return data
        return _raw_text(raw.encode("utf-8", "surrogateescape"))


class ParquetReader(Reader):
    def batches(self) -> Iterator[ReadBatch]:
        import pyarrow.parquet as pq

        if self.path.stat().st_size == 0:
            return  # an empty file is no record
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
    "jsonl": JsonLinesReader,
    "json": JsonReader,
    "csv": CsvReader,
    "tsv": CsvReader,
    "txt": TextReader,
    "parquet": ParquetReader,
    "arrow": DatasetsReader,
    "hub": HubReader,
}


def read_batches(reader: Reader, name: str) -> Iterator[ReadBatch]:
    """The reader's batches; a file that breaks off (damaged compressed data, a read error) stops the run with an
    error that names it, rather than a traceback."""
    import lzma

    try:
        yield from reader.batches()
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise InputError(f"{name} can't be read to the end: {exc} (a damaged or truncated file?)") from None


def empty_rows() -> pl.DataFrame:
    return pl.DataFrame(schema={"_id": pl.String, "_source": pl.String, "_row": pl.Int64, "text": pl.String})


def open_reader(path: Path | None, source: Source, source_key: str, options: ReadOptions, file_index: int) -> Reader:
    fmt = "hub" if source.hub else detect_format(path, source.format)
    return READERS[fmt](path, source, source_key, options, file_index)


def peek_columns(path: Path, source: Source, sample: int = 200) -> dict[str, pl.DataType | None] | None:
    """The columns of a file with their types where the format keeps them (parquet), from its schema or its first
    records; None where they can't be known before reading: a format without columns, an empty file, or no record
    among the first that parses (the run rejects those). Raises CurateError for a file that is not of its format."""
    fmt, options = detect_format(path, source.format), ReadOptions()
    if fmt == "txt":
        return {"text": pl.String}
    if fmt in ("json", "arrow") or path.stat().st_size == 0:
        return None
    if fmt == "parquet":
        import pyarrow as pa

        try:
            return dict(pl.read_parquet_schema(path))
        except (pa.ArrowException, pl.exceptions.PolarsError, OSError) as exc:
            raise CurateError(f"not a parquet file ({str(exc).splitlines()[0]})") from None
    decoder = RecordDecoder(resolve_encoding(path, source.encoding))
    if fmt in ("csv", "tsv"):
        lines = csv_lines(path, decoder, options.max_record_bytes)
        try:
            header, problem = next(csv_records(lines, _delimiter(path, source)), (None, ""))
        finally:
            lines.close()
        if header is not None and not problem:
            header, problem = csv_header(header, decoder)
        if problem:
            raise CurateError(f"the header row can't be read: {problem}")
        return dict.fromkeys(header) if header else None
    keys: dict[str, None] = {}
    found = False
    with io.TextIOWrapper(open_input(path), encoding=decoder.name, errors="replace") as handle:
        for line in _first_lines(handle, sample, options.max_record_bytes):
            record, problem = parse_json(line.lstrip("\ufeff"))
            if problem is None and isinstance(record, dict):
                keys.update(dict.fromkeys(record))
                found = True
    return keys if found else None


def _first_lines(handle: io.TextIOBase, count: int, longest: int) -> Iterator[str]:
    """Up to `count` non-blank lines, skipping lines longer than `longest` without holding them."""
    while count > 0:
        line = handle.readline(longest + 1)
        if not line:
            return
        if len(line) > longest and not line.endswith("\n"):
            while (rest := handle.readline(longest)) and not rest.endswith("\n"):
                pass
            continue
        if line.strip():
            count -= 1
            yield line

"""Compressed inputs: corpora often ship as `.jsonl.gz` or `.jsonl.zst`. They are read as streams (pyarrow's
decompressors; `.xz` with the standard library), so memory does not grow with the file."""

from __future__ import annotations

import io
import lzma
from pathlib import Path
from typing import BinaryIO

COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd", ".lz4": "lz4", ".xz": "xz"}


def compression_of(path: Path) -> str | None:
    """The codec named by the file's last suffix (`a.jsonl.gz` -> gzip), or None."""
    return COMPRESSIONS.get(path.suffix.lower())


def open_input(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when its name says it is compressed."""
    codec = compression_of(path)
    if codec is None:
        return open(path, "rb")
    if codec == "xz":
        return lzma.open(path, "rb")
    import pyarrow as pa

    return io.BufferedReader(pa.input_stream(str(path), compression=codec), buffer_size=1 << 20)

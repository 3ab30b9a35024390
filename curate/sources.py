"""Resolving a recipe's sources to files, and fingerprinting them for provenance and caching."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from curate.io.readers import EXTENSIONS, detect_format
from curate.io.writers import file_sha256
from curate.recipe import Source


@dataclass
class InputFile:
    source_index: int
    file_index: int
    key: str  # the path as written relative to where it was found: part of every row's `_id`
    path: Path | None  # None for a hub dataset
    format: str
    sha256: str = ""
    bytes: int = 0


@dataclass
class ResolvedSource:
    index: int
    source: Source
    files: list[InputFile] = field(default_factory=list)


def _expand(pattern: str, base: Path) -> list[tuple[str, Path]]:
    """(key, absolute path) of the files a pattern matches; the key is the path relative to `base`, as written."""
    base = base.resolve()  # absolute paths: Ray workers do not share the driver's working directory
    full = pattern if os.path.isabs(pattern) else str(base / pattern)
    matches = sorted(glob.glob(full, recursive=True))
    out = []
    for match in matches:
        path = Path(match)
        key = match if os.path.isabs(pattern) else os.path.relpath(match, base)
        out.append((Path(key).as_posix(), path))
    return out


def is_datasets_folder(path: Path) -> bool:
    return path.is_dir() and any((path / n).exists() for n in ("dataset_info.json", "dataset_dict.json", "state.json"))


def project_dir(sources: list[Source], recipe_dir: Path) -> Path:
    """The one folder a recipe's relative paths (its sources and `output.dir`) resolve against: the working directory
    (`.`), or the recipe's folder when the sources are found there and not in the working directory. One rule for
    both, so a run from another folder reads and writes where a run from the project does, or says why it can't."""
    here = Path(".")
    relative = [s.path for s in sources if s.path and not os.path.isabs(s.path)]
    if not relative or all(_expand(p, here) for p in relative):
        return here
    return recipe_dir if all(_expand(p, recipe_dir) for p in relative) else here


def resolve_source(index: int, source: Source, base: Path) -> ResolvedSource | None:
    """Files of a source, relative to `base` (see `project_dir`). None when nothing matches."""
    resolved = ResolvedSource(index, source)
    if source.hub:
        resolved.files.append(InputFile(index, 0, f"hub:{source.hub}:{source.split}", None, "hub"))
        return resolved
    matches = _expand(source.path, base)
    if not matches:
        return None
    files = []
    for key, path in matches:
        if path.is_file() or is_datasets_folder(path):
            files.append((key, path))
        elif path.is_dir():  # a plain folder: the data files inside it
            files += [(f"{key}/{c.relative_to(path).as_posix()}", c) for c in sorted(path.rglob("*"))
                      if c.is_file() and c.suffix.lower() in EXTENSIONS and not c.name.startswith(".")]  # fmt: skip
    if not files:
        return None
    for file_index, (key, path) in enumerate(files):
        resolved.files.append(InputFile(index, file_index, key, path, detect_format(path, source.format)))
    return resolved


def fingerprint(files: list[InputFile]) -> None:
    """sha256 and size of every input file (a datasets folder: of its files, in name order)."""
    for f in files:
        if f.path is None:
            continue
        if f.path.is_dir():
            import hashlib

            digest, size = hashlib.sha256(), 0
            for child in sorted(p for p in f.path.rglob("*") if p.is_file()):
                digest.update(child.relative_to(f.path).as_posix().encode())
                digest.update(bytes.fromhex(file_sha256(child)))
                size += child.stat().st_size
            f.sha256, f.bytes = digest.hexdigest(), size
        else:
            f.sha256, f.bytes = file_sha256(f.path), f.path.stat().st_size

"""Resolving a recipe's sources to files, and fingerprinting them for provenance and caching.

`**` and folders follow symbolic links to folders (a corpus is often a folder of links), but each real folder is
walked once and each real file read once, so a link loop neither repeats rows nor hangs the run. Hidden files and
folders (`.git`, `.curate`) are not data, as in a shell glob.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from curate.io.readers import data_format, detect_format
from curate.io.writers import file_sha256
from curate.run.recipe import Source


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


def walk_folders(root: str) -> Iterator[tuple[str, list[str]]]:
    """(folder, its non-hidden files) for `root` and every non-hidden folder below it, links to folders followed
    but each real folder visited once (a link loop ends there)."""
    seen: set[tuple[int, int]] = set()
    for folder, folders, files in os.walk(root, followlinks=True):
        try:
            info = os.stat(folder)
        except OSError:
            folders[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen:
            folders[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        yield folder, sorted(f for f in files if not f.startswith("."))


def glob_paths(pattern: str) -> list[str]:
    """`glob.glob(pattern, recursive=True)`, with `**` walked by `walk_folders` (glob itself follows link loops)."""
    parts = pattern.split(os.sep)
    if "**" not in parts:
        return glob.glob(pattern)
    cut = parts.index("**")
    head, tail = os.sep.join(parts[:cut]) or os.sep, os.sep.join(parts[cut + 1 :])
    found = []
    for start in glob.glob(head) if glob.has_magic(head) else [head]:
        if not os.path.isdir(start):
            continue
        for folder, files in walk_folders(start):
            if tail:
                found += glob_paths(os.path.join(glob.escape(folder), tail))
            else:
                found += [folder] + [os.path.join(folder, f) for f in files]
    return found


def _expand(pattern: str, base: Path) -> list[tuple[str, Path]]:
    """(key, absolute path) of the files a pattern matches, in key order; the key is the path relative to `base`, as
    written; a file reached by several names (links) only under the first."""
    base = base.resolve()  # absolute paths: Ray workers do not share the driver's working directory
    full = pattern if os.path.isabs(pattern) else str(base / pattern)
    out, seen = [], set()
    for match in sorted(set(glob_paths(full))):
        real = os.path.realpath(match)
        if real in seen:
            continue
        seen.add(real)
        key = match if os.path.isabs(pattern) else os.path.relpath(match, base)
        out.append((Path(key).as_posix(), Path(match)))
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
    files, seen = [], set()
    for key, path in matches:
        if path.is_file() or is_datasets_folder(path):
            found = [(key, path)]
        elif path.is_dir():  # a plain folder: the data files inside it
            found = [
                (f"{key}/{Path(folder, name).relative_to(path).as_posix()}", Path(folder, name))
                for folder, names in walk_folders(str(path))
                for name in names
                if data_format(Path(name)) is not None and os.path.isfile(os.path.join(folder, name))
            ]
        else:
            found = []
        for key_, file in found:  # a folder and a glob, or two links, may reach the same file: it is read once
            real = os.path.realpath(file)
            if real not in seen:
                seen.add(real)
                files.append((key_, file))
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

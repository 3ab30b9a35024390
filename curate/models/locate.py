"""Where a model is. A recipe or config names it by path, relative to the recipe's folder or else to the working
folder (as sources are), or by Hugging Face id, found in the local cache only: nothing is downloaded at run time, and
a model that is not here is an error that names it and says how to get it. What curate caches across runs
(converted models, LLM answers) lives under one root.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from curate.core.errors import CurateError


class ModelNotAvailableError(CurateError):
    """A model named in a recipe or config that is not on this machine."""

    exit_code = 2


def cache_root(explicit: str | Path | None = None) -> Path:
    """Where converted models and LLM responses are kept across runs."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("CURATE_CACHE_DIR"):
        return Path(os.environ["CURATE_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "curate"


def candidates(name: str, base: Path | None = None) -> list[Path]:
    """The places a relative path may mean: the recipe's folder (`base`) first, then the working folder."""
    path = Path(name).expanduser()
    if path.is_absolute() or base is None:
        return [path]
    return list(dict.fromkeys([Path(base) / path, path]))


def find_local(name: str, base: Path | None, holds_model: Callable[[Path], bool]) -> Path | None:
    """The first of `candidates` that holds the model (`holds_model`), or None."""
    return next((path for path in candidates(name, base) if holds_model(path)), None)


def places(name: str, base: Path | None = None) -> str:
    """Where `find_local` looked, for a message: `a/b or b`."""
    return " or ".join(str(path) for path in candidates(name, base))


def is_model_folder(path: Path) -> bool:
    """A Transformers model folder (config.json) or a CTranslate2 one (model.bin)."""
    return path.is_dir() and ((path / "config.json").is_file() or (path / "model.bin").is_file())


def looks_like_hub_id(name: str) -> bool:
    """`org/name`, and not a path that exists or starts like one."""
    return not name.startswith((".", "/", "~")) and name.count("/") == 1 and not Path(name).exists()


def from_hub_cache(name: str) -> Path | None:
    """The snapshot of a Hugging Face id in the local cache, or None (never downloads)."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except ImportError:
        return None
    except Exception:  # noqa: BLE001  (not in the cache: LocalEntryNotFoundError and friends; the caller says so)
        return None


def model_folder(name: str, base: Path | None = None) -> Path:
    """The folder of a Transformers (or CTranslate2) model named by path or by Hugging Face id (local cache only)."""
    found = find_local(name, base, is_model_folder)
    if found is not None:
        return found
    hub = looks_like_hub_id(name)
    cached = from_hub_cache(name) if hub else None
    if cached is not None:
        return cached
    if not hub:
        raise ModelNotAvailableError(
            f"model {name!r} is not available here: no model folder (with a config.json) at {places(name, base)}. Put "
            "the model there, or name a Hugging Face id; the tiny models of the quick start are built with "
            "`python -m curate.models.tiny augment out/models/tiny`"
        )
    raise ModelNotAvailableError(
        f"model {name!r} is not available here: no model folder at {places(name, base)} and not in the local Hugging "
        f"Face cache. Download it first, e.g. `hf download {name}` (on a machine with network access; then copy the "
        "cache or the folder here), or name a local folder with a config.json; nothing is downloaded at run time"
    )

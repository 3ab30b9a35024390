"""NER backends: a clear error without the package or the model; the real spaCy code path on a pipeline built here
(an entity ruler: no weights to download); the real GLiNER code path on a tiny GLiNER model built and fitted here
(`tests/pii/tiny_gliner.py`: no GLiNER model installs from PyPI)."""

import sys
from itertools import pairwise

import polars as pl
import pytest

from curate.core.errors import CurateError, MissingDependencyError
from curate.pii.ner import NerConfig, _pieces, load_backend
from curate.stages.pii import Pii


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
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": [{"LOWER": "marie"}, {"LOWER": "curie"}]},
            {"label": "ADDRESS", "pattern": "12 rue de la Paix"},
            {"label": "GPE", "pattern": "Paris"},
        ]
    )
    nlp.to_disk(tmp_path / "pipe")
    backend = load_backend(
        NerConfig(backend="spacy", model=str(tmp_path / "pipe"), labels={"PERSON": "person", "ADDRESS": "address"})
    )
    texts = ["Dès 1895, Marie Curie vivait au 12 rue de la Paix à Paris.", "rien"]
    spans = backend.find(texts)
    assert [[(s.kind, texts[0][s.start : s.end]) for s in spans[0]], spans[1]] == [
        [("person", "Marie Curie"), ("address", "12 rue de la Paix")],
        [],
    ]


@pytest.fixture(scope="module")
def tiny_gliner(tmp_path_factory):
    pytest.importorskip("gliner", reason="GLiNER needs the pii-ner extra: pip install 'curate[pii-ner]'")
    from tests.pii import tiny_gliner

    return str(tiny_gliner.build(tmp_path_factory.mktemp("gliner")))


@pytest.mark.slow  # importing GLiNER and fitting the tiny model take about 20 s
def test_gliner_finds_names_and_addresses_at_their_offsets(tiny_gliner):
    backend = load_backend(NerConfig(backend="gliner", model=tiny_gliner))
    texts = ["Alan Turing moved to 221 Baker Street in the spring.", "The weather was fine and nothing happened."]
    found = backend.find(texts)
    assert [(s.kind, s.start, s.end, s.key) for s in found[0]] == [  # key: the value, for pseudonyms
        ("person", 0, 11, "alan turing"),
        ("address", 21, 37, "221 baker street"),
    ]
    assert found[1] == []


@pytest.mark.slow
def test_gliner_offsets_across_pieces(tiny_gliner):
    backend = load_backend(NerConfig(backend="gliner", model=tiny_gliner, max_chars=120))
    text = "x " * 46 + "Ada Lovelace lived near 10 Downing Street and " + "y " * 60
    # by hand: "x " * 46 is 92 characters, so the name is at 92-104 and the address, after "lived near ", at 116-133
    assert text[92:104] == "Ada Lovelace" and text[116:133] == "10 Downing Street"
    pieces = _pieces(text, 120)
    assert any(offset < 116 < offset + len(piece) < 133 for offset, piece in pieces)  # one piece cuts the address
    (spans,) = backend.find([text])
    assert [(s.kind, s.start, s.end) for s in spans] == [("person", 92, 104), ("address", 116, 133)]  # once, whole


@pytest.mark.slow
def test_gliner_labels_name_the_kinds(tiny_gliner):
    labels = {"person": "name", "address": "place"}
    backend = load_backend(NerConfig(backend="gliner", model=tiny_gliner, labels=labels))
    (spans,) = backend.find(["Alan Turing moved to 221 Baker Street in the spring."])
    assert [(s.kind, s.start, s.end) for s in spans] == [("name", 0, 11), ("place", 21, 37)]


@pytest.mark.slow
def test_pii_step_masks_what_gliner_finds_beside_the_patterns(tiny_gliner):
    texts = [
        "Alan Turing wrote to ada@example.org from 221 Baker Street.",
        "The weather was fine and nothing happened.",
    ]
    step = Pii.from_dict({"fields": ["text"], "ner": {"backend": "gliner", "model": tiny_gliner}})
    result = step.process(pl.DataFrame({"_id": ["a", "b"], "text": texts}))
    assert result.kept["text"].to_list() == ["<PERSON> wrote to <EMAIL> from <ADDRESS>.", texts[1]]
    assert result.stats["pii:person"] == result.stats["pii:address"] == result.stats["pii:email"] == 1


def test_a_gliner_model_that_is_not_there(tmp_path):
    pytest.importorskip("gliner", reason="GLiNER needs the pii-ner extra: pip install 'curate[pii-ner]'")
    with pytest.raises(CurateError) as raised:
        load_backend(NerConfig(backend="gliner", model=str(tmp_path / "nowhere")))
    assert str(raised.value) == (
        f"GLiNER model '{tmp_path / 'nowhere'}' could not be loaded from a local folder or the Hugging Face cache "
        f"(HFValidationError); download it once (hf download {tmp_path / 'nowhere'}) or give a folder"
    )


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

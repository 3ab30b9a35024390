import json

import polars as pl
import pytest
from pydantic import ValidationError

from curate.core.errors import CurateError
from curate.stages.content import Content
from tests.conftest import SHARED_EVAL


def run(texts, langs, support=None, **params):
    data = pl.DataFrame(
        {"text": texts, "text_lang": langs, "text_lang_support": support or [0.9] * len(texts)},
        schema_overrides={"text": pl.String},
    )
    return Content.from_dict(params).process(data)


TEXTS = [
    "What a classic bastard.",
    "Du Arschloch!",
    "他是个傻逼",
    "这是牛乳",
    "nigger go home, fuck",
    "Hello world",
    "يا ابن القحبة",
    "साला कुत्ता chutiya",
]
LANGS = ["eng", "deu", "cmn", "cmn", "eng", "eng", "arb", "hin"]


def test_drop_gives_the_category_with_the_exact_reason_and_the_terms():
    result = run(TEXTS, LANGS)
    assert result.kept["text"].to_list() == ["这是牛乳", "Hello world"]  # `classic` is no `ass`; `乳` alone is milk
    assert result.rejected.select("text", "_reason", "_detail").rows() == [
        ("What a classic bastard.", "content:profanity", "profanity: 1 (bastard)"),
        ("Du Arschloch!", "content:obscene", "obscene: 1 (arschloch)"),
        ("他是个傻逼", "content:obscene", "obscene: 1 (傻逼)"),
        ("nigger go home, fuck", "content:hate", "hate: 1 (nigger); profanity: 1 (fuck)"),
        ("يا ابن القحبة", "content:obscene", "obscene: 1 (يا ابن القحبة)"),  # right to left
        ("साला कुत्ता chutiya", "content:obscene", "obscene: 2 (साला, chutiya)"),
    ]
    assert result.stats == {
        "content:profanity:eng": 2,
        "content:obscene:deu": 1,
        "content:obscene:cmn": 1,
        "content:hate:eng": 1,
        "content:obscene:arb": 1,
        "content:obscene:hin": 1,
    }


def test_tag_keeps_every_row_with_categories_and_hits_for_a_review_rule():
    result = run(TEXTS, LANGS, action="tag")
    assert result.rejected.height == 0
    assert result.kept["text_content"].to_list() == [
        ["profanity"],
        ["obscene"],
        ["obscene"],
        [],
        ["hate", "profanity"],
        [],
        ["obscene"],
        ["obscene"],
    ]
    assert result.kept["text_content_hits"].to_list() == [1, 1, 1, 0, 2, 0, 1, 2]
    from curate.stages.filter import FilterConfig  # how the review step's `where` rule picks rows

    rule = FilterConfig.model_validate({"column": "text_content_hits", "gt": 0})
    chosen = result.kept.filter(pl.all_horizontal(rule.conditions()))["text"].to_list()
    assert chosen == [t for t, n in zip(TEXTS, [1, 1, 1, 0, 2, 0, 1, 2]) if n]


def test_allow_lists_for_a_domain():
    medical = ["Die Brust wurde untersucht.", "Mammakarzinom der Brust", "Brustkrebs früh erkennen"]
    terms = {"sexual": {"de": ["brust"]}}
    strict = run(medical, ["deu"] * 3, terms=terms)
    assert strict.rejected["_reason"].to_list() == ["content:sexual", "content:sexual"]
    allowed = run(medical, ["deu"] * 3, terms=terms, allow={"de": ["brust"]})
    assert allowed.rejected.height == 0
    phrase = run(
        ["breast cancer screening", "nice breasts"],
        ["eng", "eng"],
        terms={"sexual": {"en": ["breast", "breasts"]}},
        allow={"*": ["breast cancer"]},
    )
    assert phrase.rejected.select("text", "_reason").rows() == [("nice breasts", "content:sexual")]


def test_only_the_rows_language_list_judges_it_and_unsure_rows_are_counted():
    result = run(["Een breuk van het bekken", "Du Arschloch!"], ["nld", "deu"], support=[0.9, 0.2])
    assert result.rejected.select("text", "_reason").rows() == [("Een breuk van het bekken", "content:obscene")]
    result = run(["Een breuk van het bekken"], ["nld"], allow={"nl": ["bekken"]})  # the pelvis, in a medical text
    assert result.rejected.height == 0
    english = run(["Du Arschloch!"], ["eng"])  # an English row is not judged by the German list
    assert english.rejected.height == 0
    unsure = run(["Du Arschloch!", "x"], ["deu", "tlh"], support=[0.2, 0.9])
    assert unsure.stats == {"unjudged:deu": 1, "unjudged:tlh": 1}
    assert Content.notes({"lists": ["profanex"]}, dict(unsure.stats)) == [
        "2 rows were not judged for unfit content: their language has no word list or was not known well enough "
        "(`deu` 1, `tlh` 1). Add a list of your own (`files`, `terms`) or a classifier"
    ]


def test_own_list_file_categories_and_min_hits(tmp_path):
    (tmp_path / "terms.tsv").write_text("lang\tterm\tcategory\nen\tscum\thate\nfr\tconnard\tprofanity\n", "utf-8")
    result = Content.from_dict({"files": ["terms.tsv"], "categories": ["hate"]}, _context(tmp_path)).process(
        pl.DataFrame({"text": ["you scum", "quel connard", "fuck"], "text_lang": ["eng", "fra", "eng"]})
    )
    assert result.rejected.select("text", "_reason").rows() == [("you scum", "content:hate")]
    twice = run(["fuck", "fuck this shit"], ["eng", "eng"], min_hits=2)
    assert twice.rejected.select("text", "_detail").rows() == [("fuck this shit", "profanity: 2 (fuck, shit)")]


def test_card_counts_per_category_and_language():
    stats = dict(run(TEXTS, LANGS).stats)
    card = Content.card_section({"lists": ["profanex", "ldnoobw"], "action": "drop"}, stats)
    assert "| language | `hate` | `profanity` | `obscene` | rows not judged (no list for the language) |" in card
    assert "| `eng` | 1 | 2 | 0 | 0 |" in card


def test_config_errors():
    with pytest.raises(ValidationError, match="unknown word list 'hurtlex'"):
        Content.from_dict({"lists": ["hurtlex"]})
    with pytest.raises(CurateError, match="no model folder at"):
        run(["x"], ["eng"], classifier={"model": "/nonexistent/model"})


def _context(folder):
    from curate.stages.base import StepContext

    return StepContext(recipe_dir=folder)


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    """A tiny BERT classifier with random weights whose last layer always says `toxic` (sigmoid of a bias of 1: 0.73)."""
    torch = pytest.importorskip("torch")
    from transformers import BertConfig, BertForSequenceClassification

    from curate.models.tiny import train_tokenizer

    folder = tmp_path_factory.mktemp("classifier")
    tokenizer = train_tokenizer(["a sentence to learn a few tokens from", "another one"] * 20, "qwen2", 300)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        pad_token_id=tokenizer.pad_token_id,
        num_labels=2,
        id2label={0: "neutral", 1: "toxic"},
        label2id={"neutral": 0, "toxic": 1},
        problem_type="multi_label_classification",
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    with torch.no_grad():  # a constant logit of 1 for `toxic`, -1 for `neutral`: sigmoid 0.73 and 0.27
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([-1.0, 1.0]))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_classifier_backend_loads_a_local_folder(tiny_classifier):
    result = run(
        ["a quiet sentence", "another one"],
        ["eng", "tlh"],
        classifier={"model": str(tiny_classifier), "labels": {"toxic": "offensive"}, "threshold": 0.7},
    )
    assert result.rejected.select("_reason", "_detail").rows() == [
        ("content:offensive", "offensive: 1 (classifier:0.73)"),
        ("content:offensive", "offensive: 1 (classifier:0.73)"),
    ]
    above = run(["a quiet sentence"], ["eng"], classifier={"model": str(tiny_classifier), "threshold": 0.8})
    assert above.rejected.height == 0
    with pytest.raises(CurateError, match=r"labels \['hateful'\] are not the model's"):
        run(["x"], ["eng"], classifier={"model": str(tiny_classifier), "labels": {"hateful": "hate"}})


@pytest.mark.skipif(
    not (SHARED_EVAL / "dedup" / "xquad_paragraphs.jsonl").exists(), reason="shared eval data not present"
)
def test_clean_wikipedia_paragraphs_are_rarely_flagged():
    """XQuAD's Wikipedia paragraphs in 12 languages (Arabic and Hindi, Chinese and Thai among them) are clean text:
    the lists flag 2% of them or fewer overall (per language: see the README)."""
    rows = [json.loads(line) for line in (SHARED_EVAL / "dedup" / "xquad_paragraphs.jsonl").open(encoding="utf-8")]
    result = run([r["text"] for r in rows], [r["lang"] for r in rows], action="tag")
    assert (result.kept["text_content_hits"] > 0).mean() <= 0.02

import numpy as np
import polars as pl

from curate.pairs import align, misalign

# A toy corpus where each word has one translation, in varied sentences (so that EM can tell them apart).
SOURCE = ["the cat sleeps", "the dog sleeps", "a cat eats", "a dog eats", "the cat eats", "a dog sleeps"]
TARGET = ["le chat dort", "le chien dort", "un chat mange", "un chien mange", "le chat mange", "un chien dort"]


def tokens(texts):
    return align.token_lists(pl.Series(texts))


def test_training_learns_the_word_translations():
    table = align.train(tokens(SOURCE), tokens(TARGET))
    best = table.sort("t", descending=True).group_by("e", maintain_order=True).first()
    assert dict(best.select("e", "f").iter_rows()) | {} == {
        "the": "le",
        "a": "un",
        "cat": "chat",
        "dog": "chien",
        "sleeps": "dort",
        "eats": "mange",
        align.NULL: best.filter(pl.col("e") == align.NULL)["f"][0],
    }
    assert table["t"].min() >= align.PRUNE
    assert table.equals(align.train(tokens(SOURCE), tokens(TARGET)))  # the same on every run


def test_a_translation_scores_above_another_sentence_s():
    src, tgt = tokens(SOURCE), tokens(TARGET)
    forward, backward = align.train(src, tgt), align.train(tgt, src)
    right = align.both_ways(tokens(["the dog eats"]), tokens(["le chien mange"]), forward, backward)[0]
    wrong = align.both_ways(tokens(["the dog eats"]), tokens(["un chat dort"]), forward, backward)[0]
    empty = align.both_ways(tokens(["the dog eats"]), tokens([""]), forward, backward)[0]
    assert right > wrong and empty is None


def test_rotation_never_pairs_a_row_with_itself():
    turn = misalign.rotation(50, seed=13)
    assert (turn != np.arange(50)).all() and sorted(set(turn)) == sorted(set(turn))
    assert (misalign.rotation(50, seed=13) == turn).all()


def test_logistic_regression_finds_the_separating_direction():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] - x[:, 1] > 0).astype(float)
    w = misalign.fit_logistic(x, y)
    assert w[1] > 0 and w[2] < 0 and abs(w[0]) < abs(w[1])


def test_slipped_alignments_keep_the_likelier_pair():
    groups = pl.DataFrame(
        {
            "_id": ["a", "b", "c", "d", "e"],
            "target_key": ["T1", "T1", "T2", "T2", "T3"],
            "source_key": ["s1", "s2", "s3", "s3", "s4"],  # T2 twice with the same source: a duplicate, not a slip
            "p": [0.2, 0.6, 0.9, 0.1, 0.9],
        }
    )
    assert misalign.slipped(groups).to_list() == ["b"]

import polars as pl
import pytest

from curate.review.selection import Rule, Selector, check_take

# real sentences from Tatoeba (en-X pairs), several scripts
TEXTS = {
    "fra": ["Bonjour.", "Merci beaucoup.", "Où est la gare ?", "Je ne sais pas.", "Il pleut encore.", "C'est vrai."],
    "rus": ["Доброе утро.", "Спасибо большое.", "Где вокзал?", "Я не знаю.", "Опять идёт дождь.", "Это правда."],
    "jpn": [
        "おはようございます。",
        "どうもありがとう。",
        "駅はどこですか。",
        "わかりません。",
        "また雨だ。",
        "本当です。",
    ],
}


def _frame() -> pl.DataFrame:
    rows = [
        {"_id": f"{lang}-{i}", "text": t, "lang": lang, "score": 0.2 + 0.15 * i}
        for lang, texts in TEXTS.items()
        for i, t in enumerate(texts)
    ]
    return pl.DataFrame(rows)


def _select(
    frame: pl.DataFrame, rules: list[Rule], by: str | None = "lang", batch: int = 100, seed: int = 3
) -> pl.DataFrame:
    selector = Selector(rules, by, seed)
    for start in range(0, frame.height, batch):
        selector.add(frame.slice(start, batch))
    return selector.result()


def test_a_count_is_per_group_and_independent_of_batches():
    frame = _frame()
    whole = _select(frame, [Rule("sample", pl.lit(True), 2)])
    assert whole.group_by("lang").len().sort("lang").rows() == [("fra", 2), ("jpn", 2), ("rus", 2)]
    for batch in (1, 4, 7):
        assert _select(frame, [Rule("sample", pl.lit(True), 2)], batch=batch)["_id"].to_list() == whole["_id"].to_list()
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=1)
    assert sorted(_select(shuffled, [Rule("sample", pl.lit(True), 2)])["_id"]) == sorted(whole["_id"])


def test_the_seed_changes_the_sample_and_a_fraction_is_a_share():
    frame = pl.concat([_frame().with_columns((pl.col("_id") + f"-{k}").alias("_id")) for k in range(50)])
    a = _select(frame, [Rule("sample", pl.lit(True), 0.1)], seed=1)
    b = _select(frame, [Rule("sample", pl.lit(True), 0.1)], seed=2)
    assert set(a["_id"]) != set(b["_id"])
    assert 60 <= a.height <= 120  # 10% of 900, by hash
    assert _select(frame, [Rule("sample", pl.lit(True), 1.0)]).height == frame.height


def test_rules_combine_and_say_why():
    frame = _frame()
    rules = [Rule("sample", pl.lit(True), 1), Rule("low_confidence", pl.col("score") < 0.4, 1.0)]
    chosen = _select(frame, rules)
    low = set(frame.filter(pl.col("score") < 0.4)["_id"])
    assert low <= set(chosen["_id"])
    why = dict(zip(chosen["_id"], chosen["_why"].to_list()))
    assert all("low_confidence" in why[i] for i in low)
    assert sum("sample" in w for w in why.values()) == 3
    assert chosen.height == len(low | {i for i, w in why.items() if "sample" in w})


def test_no_group_column_means_one_group_and_nothing_matched_is_empty():
    frame = _frame()
    assert _select(frame, [Rule("sample", pl.lit(True), 4)], by=None).height == 4
    assert _select(frame, [Rule("sample", pl.lit(True), 4)], by="missing").height == 4
    nothing = _select(frame, [Rule("where", pl.col("score") > 5, 1.0)])
    assert nothing.height == 0 and "_why" in nothing.columns


def test_a_synthetic_row_gets_its_parent_text_from_its_batch_or_a_later_one():
    frame = pl.DataFrame(
        {
            "_id": ["p1", "p2", "s1", "s2"],
            "text": ["Где вокзал?", "Я не знаю.", "Where is the station?", "I don't know."],
            "_parent_id": [None, None, "p1", "p2"],
            "_synthetic": [False, False, True, True],
        }
    )
    rules = [Rule("synthetic", pl.col("_synthetic"), 1.0)]
    together = _select(frame, rules, by=None, batch=4)  # an augmenting step writes children beside their parents
    assert dict(zip(together["_id"], together["_parent_text"])) == {"s1": "Где вокзал?", "s2": "Я не знаю."}
    late = _select(frame.reverse(), rules, by=None, batch=1)  # children first: filled when the parent comes
    assert dict(zip(late["_id"], late["_parent_text"])) == {"s1": "Где вокзал?", "s2": "Я не знаю."}
    early = _select(frame, rules, by=None, batch=1)  # a parent in an earlier batch is not kept (memory stays small)
    assert early["_parent_text"].to_list() == [None, None]


def test_rows_without_a_group_value_are_a_group_of_their_own():
    frame = _frame().with_columns(
        pl.when(pl.col("_id").str.ends_with("-5")).then(None).otherwise(pl.col("lang")).alias("lang")
    )  # fra-5, rus-5, jpn-5 have no language
    chosen = _select(frame, [Rule("sample", pl.lit(True), 2)])
    # 2 of each language and 2 of the 3 rows without one: they are neither merged into a language nor left out
    assert chosen.group_by("lang").len().sort("lang", nulls_last=True).rows() == [
        ("fra", 2),
        ("jpn", 2),
        ("rus", 2),
        (None, 2),
    ]
    assert set(chosen.filter(pl.col("lang").is_null())["_id"]) < {"fra-5", "rus-5", "jpn-5"}
    assert chosen.columns == [*frame.columns, "_parent_text", "_why"]  # the grouping key is not left behind


def test_takes_are_checked():
    assert check_take(5, "sample") == 5 and check_take(0.5, "sample") == 0.5 and check_take(1.0, "x") == 1.0
    fraction = "sample: a fraction must be in (0, 1], e.g. 0.05; write a count as an integer"
    messages = [  # pairs, not a dict: 0 == 0.0 and 1 == True as keys
        (0, "sample: a count must be at least 1 (got 0)"),
        (-1, "sample: a count must be at least 1 (got -1)"),
        (0.0, f"{fraction} (got 0.0)"),
        (1.5, f"{fraction} (got 1.5)"),
        (True, "sample: give a count (50) or a fraction (0.05), not True"),
    ]
    for bad, message in messages:
        with pytest.raises(ValueError) as raised:
            check_take(bad, "sample")
        assert str(raised.value) == message

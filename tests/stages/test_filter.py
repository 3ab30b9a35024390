import polars as pl
import pytest
from pydantic import ValidationError

from curate.stages.filter import Filter

FRAME = pl.DataFrame(
    {"text": ["a", "b", "c", "d"], "lang": ["eng", "fra", None, "deu"], "score": [0.9, 0.2, 0.5, None]}
)


def run(**params):
    result = Filter.from_dict(params).process(FRAME)
    return result.kept["text"].to_list(), result.rejected.select("text", "_reason").rows()


def test_in_and_not_in():
    assert run(column="lang", **{"in": ["eng", "fra"]}) == (["a", "b"], [("c", "filter:lang"), ("d", "filter:lang")])
    assert run(column="lang", not_in=["eng"]) == (["b", "d"], [("a", "filter:lang"), ("c", "filter:lang")])


def test_comparisons_and_combined_conditions():
    assert run(column="score", ge=0.5)[0] == ["a", "c"]
    assert run(column="score", gt=0.2, lt=0.9)[0] == ["c"]
    assert run(column="lang", ne="eng", reason="not_english")[1] == [("a", "not_english"), ("c", "not_english")]


def test_regex_and_null():
    assert run(column="text", matches="^[ab]$")[0] == ["a", "b"]
    assert run(column="text", not_matches="^[ab]$")[0] == ["c", "d"]
    assert run(column="lang", is_null=True)[0] == ["c"]


def test_a_condition_is_required():
    with pytest.raises(ValidationError, match="give a condition"):
        Filter.from_dict({"column": "lang"})

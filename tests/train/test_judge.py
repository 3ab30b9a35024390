"""The judge's request (against the reference, or the source when there is none) and how its answer is read."""

import pytest

from curate.train.judge import compared_with, judge_prompt, parse_verdict

ROW = {"lang": "swh", "input": "Where is the station?", "reference": "Kituo kiko wapi?", "output": "Stesheni iko wapi?"}


def test_judged_against_the_reference_else_the_source():
    assert compared_with("auto", "Kituo kiko wapi?") == (False, True)
    assert compared_with("auto", None) == (True, False)  # cross-lingual: only the source exists
    assert compared_with("auto", "  ") == (True, False)
    assert compared_with("source", "Kituo kiko wapi?") == (True, False)
    assert compared_with("both", "Kituo kiko wapi?") == (True, True)
    assert compared_with("reference", None) == (True, False)  # nothing else to judge against


def test_prompt_shows_the_rubric_of_the_language():
    prompt, basis = judge_prompt(
        ROW, "auto", {"swh": "Standard Swahili (Kiswahili sanifu); Sheng is wrong.", "default": "Any variety."}
    )
    assert basis == "reference"
    assert prompt == (
        "You are a careful evaluator of text written in Swahili.\n\n"
        "Reference in Swahili:\nKituo kiko wapi?\n\n"
        "Output to rate (it should be in Swahili):\nStesheni iko wapi?\n\n"
        "Rate the output:\n"
        "- adequacy (1-5): does it convey the meaning of the reference? 5: all of it, 1: none of it\n"
        "- fluency (1-5): is it natural, correct Swahili? 5: as a native speaker writes, 1: unreadable\n"
        "- right_language: is it written in Swahili?\n"
        "Standard Swahili (Kiswahili sanifu); Sheng is wrong.\n\n"
        "Answer with one JSON object and nothing else:\n"
        '{"adequacy": <1-5>, "fluency": <1-5>, "right_language": <true or false>, "justification": "<one sentence>"}'
    )
    prompt, basis = judge_prompt({**ROW, "lang": "yid"}, "both", {"default": "Any variety."})
    assert basis == "source+reference" and "Source text:\nWhere is the station?" in prompt
    assert "does it convey the meaning of the source and reference?" in prompt and prompt.count("Any variety.") == 1


def test_verdicts_are_parsed_and_scored():
    answer = 'Sure!\n```json\n{"adequacy": 4, "fluency": "5", "right_language": true, "justification": "Fine."}\n```'
    assert parse_verdict(answer) == {
        "adequacy": 4,
        "fluency": 5,
        "right_language": True,
        "justification": "Fine.",
        "score": 4.5,
    }
    wrong = parse_verdict('{"adequacy": 5, "fluency": 5, "right_language": "no"}')
    assert wrong["score"] == 1.0 and wrong["right_language"] is False  # not in the language: the lowest score


@pytest.mark.parametrize(
    "answer,why",
    [
        ("", "empty answer"),
        ("The translation is good, 4/5.", "no JSON object in the answer"),
        ('{"adequacy": 4, fluency: 5}', "the answer's JSON does not parse"),
        (
            '{"adequacy": 7, "fluency": 5, "right_language": true}',
            "adequacy must be a whole number from 1 to 5 (got 7)",
        ),
        (
            '{"adequacy": 3.5, "fluency": 5, "right_language": true}',
            "adequacy must be a whole number from 1 to 5 (got 3.5)",
        ),
        ('{"adequacy": 3, "fluency": 5}', "right_language must be true or false (got None)"),
    ],
)
def test_answers_out_of_format_are_errors(answer, why):
    with pytest.raises(ValueError) as info:
        parse_verdict(answer)
    assert str(info.value) == why

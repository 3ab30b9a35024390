"""Recipe validation: every user mistake is one clear line with file, line, what was expected; exit code 2."""

import subprocess
import sys

import pytest

from curate.core.errors import RecipeError
from curate.run.recipe import load_recipe
from curate.run.validate import load_and_check
from curate.stages.langid import LangId
from tests.conftest import write_jsonl, write_recipe

GOOD = """\
name: t
seed: 3
sources:
  - path: data/*.jsonl
    columns: {text: src, target: tgt}
    meta: {license: CC-BY-4.0}
steps:
  - normalize: {fields: [text, target]}
  - length: {min_chars: 2}
output:
  dir: out
  splits: {train: 0.8, test: 0.2}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    write_jsonl(tmp_path / "data" / "a.jsonl", [{"src": "Hello there.", "tgt": "Bonjour."}])
    monkeypatch.chdir(tmp_path)
    return tmp_path


def problems_of(project, text: str) -> list[str]:
    path = write_recipe(project / "r.yaml", text)
    with pytest.raises(RecipeError) as info:
        load_and_check(path)
    return info.value.problems


def test_good_recipe_loads_with_defaults(project):
    recipe, sources = load_and_check(write_recipe(project / "r.yaml", GOOD))
    assert [s.name for s in recipe.steps] == ["normalize", "length"]
    assert recipe.steps[0].config.unicode == "NFC"
    assert recipe.steps[1].line == 9
    assert [f.key for f in sources[0].files] == ["data/a.jsonl"]
    assert recipe.resolved()["steps"][1]["length"]["field"] == "text"


def test_recipe_hash_changes_with_a_parameter_and_not_with_formatting(project):
    a = load_recipe(write_recipe(project / "a.yaml", GOOD)).hash()
    b = load_recipe(
        write_recipe(project / "b.yaml", GOOD.replace("{min_chars: 2}", "{ min_chars: 2 }  # comment"))
    ).hash()
    c = load_recipe(write_recipe(project / "c.yaml", GOOD.replace("min_chars: 2", "min_chars: 3"))).hash()
    assert a == b != c


def test_misspelt_key_names_line_and_suggests(project):
    r = project / "r.yaml"
    assert problems_of(project, GOOD.replace("columns:", "colums:")) == [
        f"{r}:5:5: sources[0]: unknown key 'colums'; did you mean 'columns'? "
        "(allowed: columns, encoding, format, hub, meta, path, split, txt_unit)",
        # without its `columns`, the source has no `target`: said, and tied to the typo that may cause it
        f"{r}:8:5: steps[0].normalize: column 'target' does not exist at this point "
        "(columns: _id, _row, _source, src, text, tgt) (maybe because of the problem in sources[0])",
    ]


def test_every_problem_in_one_pass(project):
    """Key and value typos do not hide file and column problems; problems come in the recipe's line order."""
    write_jsonl(project / "data" / "b.jsonl", [{"src": "Hi.", "tgt": "Salut."}])
    text = (
        GOOD.replace("target: tgt}", "target: tgtt}\n  - path: nowhere/*.csv")
        .replace("{fields: [text, target]}", "{fields: [text, target], unicod: NFC}")
        .replace("{min_chars: 2}", "{min_chars: two}")
        .replace("test: 0.2}", "test: 0.2}\n  stratify_by: text_lag")
        .replace("  - length:", "  - langid: {field: text}\n  - length:")
    )
    r = project / "r.yaml"
    # the sources' columns (`src` is `text`), then what the langid step adds (its own declaration)
    columns = ", ".join(sorted({"_id", "_row", "_source", "text", "target", "tgt", *LangId.from_dict({}).produces()}))
    assert problems_of(project, text) == [
        f"{r}:5:26: sources[0].columns.target: column 'tgtt' not found in data/a.jsonl and 1 more files matching "
        "'data/*.jsonl'; did you mean 'tgt'? (columns: src, tgt)",
        f"{r}:6:5: sources[1].path: no file matches 'nowhere/*.csv' (looked in {project})",
        f"{r}:9:41: steps[0].normalize: unknown key 'unicod'; did you mean 'unicode'? "
        "(allowed: collapse_whitespace, fields, fix_encoding, remove_control, strip_html, unicode)",
        f"{r}:11:14: steps[2].length.min_chars: Input should be a valid integer, unable to parse string as an integer "
        "(got 'two')",
        f"{r}:15:3: output.stratify_by: no column 'text_lag'; did you mean 'text_lang'? (columns: {columns}) "
        "(maybe because of the problem in steps[0])",
    ]


def test_a_source_without_a_text_column_is_one_problem_for_its_glob(project):
    write_jsonl(project / "data" / "b.jsonl", [{"src": "Hi.", "tgt": "Salut."}])
    write_jsonl(project / "data" / "c.jsonl", [{"src": "Yo.", "tgt": "Wesh."}])
    (problem,) = problems_of(project, GOOD.replace("columns: {text: src, target: tgt}", "columns: {target: tgt}"))
    assert problem == (
        f"{project / 'r.yaml'}:4:5: sources[0]: data/a.jsonl and 2 more files matching 'data/*.jsonl' "
        "have no `text` column; map one with `columns: {text: <column>}` (columns: src, tgt)"
    )


def test_misspelt_step_parameter(project):
    (problem,) = problems_of(project, GOOD.replace("min_chars: 2", "min_char: 2"))
    assert ":9:14: steps[1].length: unknown key 'min_char'; did you mean 'min_chars'?" in problem
    assert "allowed: field, max_chars, max_words, min_chars, min_words" in problem


def test_unknown_step_lists_the_steps(project):
    (problem,) = problems_of(project, GOOD.replace("- normalize:", "- normalise:"))
    assert ":8:5: steps[0]: unknown step 'normalise'; did you mean 'normalize'? (steps: " in problem


def test_wrong_type_and_bad_value(project):
    problems = problems_of(project, GOOD.replace("seed: 3", "seed: three").replace("min_chars: 2", "min_chars: -1"))
    assert any(":2:1: seed: Input should be a valid integer" in p and "(got 'three')" in p for p in problems)
    assert any("steps[1].length.min_chars: Input should be greater than or equal to 0 (got -1)" in p for p in problems)


def test_literal_suggests_the_closest_value(project):
    (problem,) = problems_of(project, GOOD.replace("columns: {text", "format: jsnl\n    columns: {text"))
    assert "sources[0].format: 'jsnl' is not allowed; did you mean 'jsonl'?" in problem


def test_split_fractions_must_add_up(project):
    (problem,) = problems_of(project, GOOD.replace("test: 0.2", "test: 0.3"))
    assert "output.splits: split fractions must add up to 1 (they add up to 1.1)" in problem


def test_missing_file_and_column(project):
    problems = problems_of(
        project,
        GOOD.replace("CC-BY-4.0}", "CC-BY-4.0}\n  - path: nowhere/*.csv").replace("target: tgt", "target: tgtt"),
    )
    assert any(
        "sources[0].columns.target: column 'tgtt' not found in data/a.jsonl; did you mean 'tgt'?" in p for p in problems
    )
    assert any("sources[1].path: no file matches 'nowhere/*.csv'" in p for p in problems)


def test_source_without_text_column(project):
    (problem,) = problems_of(project, GOOD.replace("columns: {text: src, target: tgt}", "columns: {target: tgt}"))
    assert "data/a.jsonl has no `text` column; map one with `columns: {text: <column>}` (columns: src, tgt)" in problem


def test_step_needing_a_column_that_does_not_exist_yet(project):
    (problem,) = problems_of(
        project, GOOD.replace("  - length: {min_chars: 2}", "  - filter: {column: text_lang, in: [eng]}")
    )
    assert "steps[1].filter: column 'text_lang' does not exist at this point" in problem


def test_duplicate_key_and_invalid_yaml(project):
    (problem,) = problems_of(project, GOOD.replace("seed: 3", "seed: 3\nseed: 4"))
    assert "key 'seed' given twice" in problem
    (problem,) = problems_of(project, GOOD.replace("splits: {train: 0.8, test: 0.2}", "splits: {train: 0.8"))
    assert "not valid YAML" in problem and f"{project / 'r.yaml'}:" in problem


def test_recipe_cannot_construct_python_objects(project):
    (problem,) = problems_of(project, GOOD.replace("name: t", "name: !!python/object/apply:os.system ['echo hi']"))
    assert "not valid YAML" in problem


def test_filter_regex_is_checked_when_validating(project):
    (problem,) = problems_of(
        project, GOOD.replace("  - length: {min_chars: 2}", "  - filter: {column: text, matches: '(unclosed'}")
    )
    assert "invalid regular expression '(unclosed'" in problem


def test_cli_validate_exit_codes_and_no_traceback(project):
    write_recipe(project / "bad.yaml", GOOD.replace("min_chars", "min_char"))
    write_recipe(project / "good.yaml", GOOD)
    bad = subprocess.run([sys.executable, "-m", "curate", "validate", "bad.yaml"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "bad.yaml:9:14: steps[1].length: unknown key 'min_char'" in bad.stderr
    good = subprocess.run([sys.executable, "-m", "curate", "validate", "good.yaml"], capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert "good.yaml: OK (1 sources, 1 files, 2 steps)" in good.stdout
    run = subprocess.run([sys.executable, "-m", "curate", "run", "bad.yaml"], capture_output=True, text=True)
    assert run.returncode == 2 and "unknown key 'min_char'" in run.stderr and not (project / "out").exists()


def test_a_file_read_by_two_sources(project):
    (problem,) = problems_of(
        project, GOOD.replace("CC-BY-4.0}", "CC-BY-4.0}\n  - path: data/a.jsonl\n    columns: {text: src}")
    )
    assert "sources[1]: data/a.jsonl is also read by sources[0]; each file may be read once" in problem


# hostile recipes (issue 15) -------------------------------------------------------------------------------------
BOMB = "name: bomb\n" + "".join(
    f"{a}: &{a} [{','.join([f'*{p}' if p else 'lol'] * 9)}]\n" for p, a in zip(["", *"abcdefgh"], "abcdefghi")
)


def test_an_alias_bomb_is_refused_without_expanding_it(project):
    """370 bytes that expand to 9^9 values: `validate` grew past 22 GB before."""
    assert len(BOMB) < 400
    (problem,) = problems_of(project, BOMB)
    assert problem == (
        f"{project / 'r.yaml'}:7: YAML aliases here expand to more than 100,000 values (an alias bomb?); "
        "write the recipe without them"
    )


def test_a_few_aliases_are_fine(project):
    text = GOOD.replace(
        "meta: {license: CC-BY-4.0}", "meta: &m {license: CC-BY-4.0}\n  - path: data/a.jsonl\n    meta: *m"
    )
    with pytest.raises(RecipeError, match="is also read by sources"):  # the aliases expanded and were checked as usual
        load_and_check(write_recipe(project / "r.yaml", text))


def test_recursive_and_deeply_nested_yaml_is_refused(project):
    (problem,) = problems_of(project, "name: x\nsources: &s\n  - path: *s\n")
    assert (
        problem
        == f"{project / 'r.yaml'}:2: a YAML alias refers to the node that contains it; a recipe can't be recursive"
    )
    (problem,) = problems_of(project, "name: x\nmeta: " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert problem == f"{project / 'r.yaml'}: the YAML nests deeper than 64 levels"
    (problem,) = problems_of(project, "name: x\nmeta: " + "[" * 100 + "]" * 100 + "\n")
    assert problem == f"{project / 'r.yaml'}:2: the YAML nests deeper than 64 levels"


@pytest.mark.parametrize("encoding", ["rot13", "zlib_codec"])
def test_an_encoding_must_be_a_text_encoding(project, encoding):
    (problem,) = problems_of(project, GOOD.replace("meta: {", f"encoding: {encoding}\n    meta: {{"))
    assert problem == (
        f"{project / 'r.yaml'}:6:5: sources[0].encoding: '{encoding}' is not a text encoding (e.g. utf-8, "
        f"latin-1, cp1252, utf-16) (got '{encoding}')"
    )


@pytest.mark.parametrize(("key", "limit"), [("batch_rows", "10000000"), ("batch_bytes", "1073741824")])
def test_batch_sizes_are_bounded(project, key, limit):
    problems = problems_of(project, GOOD + f"engine: {{{key}: 1000000000000000000000}}\nmax_record_bytes: 1e21\n")
    assert problems == [
        f"{project / 'r.yaml'}:13:10: engine.{key}: Input should be less than or equal to {limit} "
        "(got 1000000000000000000000)",
        f"{project / 'r.yaml'}:14:1: max_record_bytes: Input should be a valid integer, unable to parse string as an "
        "integer (got '1e21')",
    ]  # YAML 1.1 reads 1e21 as a string


def test_an_empty_file_is_zero_records_not_an_error(project):
    """One empty file in a folder blocked the whole run: "no `text` column (columns: none found)"."""
    (project / "data" / "empty.jsonl").write_bytes(b"")
    (project / "data" / "broken.jsonl").write_text("{not json\n")  # nothing to check either: the run rejects it
    recipe, sources = load_and_check(write_recipe(project / "r.yaml", GOOD))
    assert [f.key for f in sources[0].files] == ["data/a.jsonl", "data/broken.jsonl", "data/empty.jsonl"]

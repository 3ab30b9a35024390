"""Checks of a recipe against the world: files exist, mapped columns exist, every step finds the columns it needs.

Runs before any work in `curate run`, and alone in `curate validate`. Every problem is reported in one pass: a
typo in one section does not hide a missing file or column in another, as a part with a problem is still checked
without its invalid keys. A problem that may only follow from an earlier one (a column the step with a typo may have
been meant to add) says so. A problem shared by the files of one glob is one line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from curate.core.errors import CurateError, OutputError, RecipeError
from curate.core.rows import META_COLUMNS
from curate.core.yamlmap import suggest
from curate.io.readers import not_text_kind, peek_columns
from curate.outputs.outdir import output_problems
from curate.run.recipe import Card, Draft, Recipe, Source, lenient, read_recipe
from curate.run.sources import ResolvedSource, project_dir, resolve_source
from curate.stages.base import StepContext
from curate.stages.registry import get_step, step_names


def _files(keys: list[str], pattern: str) -> str:
    """`a.jsonl`, or `a.jsonl and 5 more files matching 'data/*.jsonl'`: one line for the files of a glob."""
    return keys[0] if len(keys) == 1 else f"{keys[0]} and {len(keys) - 1} more files matching '{pattern}'"


def _check_columns(draft: Draft, resolved: ResolvedSource, problems: list[str]) -> set[str]:
    source, lines, i = resolved.source, draft.lines, resolved.index
    available: set[str] = set(source.columns) | {"text"}
    missing: dict[str, list[tuple[str, set[str]]]] = {}  # canonical name -> (file, its columns) lacking the column
    no_text: list[tuple[str, set[str]]] = []
    for f in resolved.files:
        if f.path is None:
            continue
        try:
            columns = peek_columns(f.path, source)
        except (OSError, UnicodeError, CurateError) as exc:
            problems.append(f"{lines.where(('sources', i, 'path'))}: sources[{i}]: can't read {f.key}: {exc}")
            continue
        if columns is None:
            continue
        available |= set(columns) - set(source.columns.values())
        for canonical, column in source.columns.items():
            if column not in columns:
                missing.setdefault(canonical, []).append((f.key, columns))
        if "text" not in source.columns and "text" not in columns:
            no_text.append((f.key, columns))
        for canonical, column in {"text": "text", **source.columns}.items():
            kind = not_text_kind(columns[column]) if columns.get(column) is not None else None
            if kind is not None:
                mapped = ("sources", i, "columns", canonical) if canonical in source.columns else ("sources", i)
                problems.append(
                    f"{lines.where(mapped)}: sources[{i}].columns.{canonical}: column '{column}' of {f.key} "
                    f"holds {kind} ({columns[column]}), not text; map a text column"
                )
    for canonical, where in missing.items():
        column, columns = source.columns[canonical], where[0][1]
        problems.append(
            f"{lines.where(('sources', i, 'columns', canonical))}: sources[{i}].columns.{canonical}: column '{column}' "
            f"not found in {_files([k for k, _ in where], source.path)};{suggest(column, sorted(columns))}".rstrip(";")
            + f" (columns: {', '.join(sorted(columns)) or 'none found'})"
        )
    if no_text:
        shown = ", ".join(sorted(no_text[0][1])) or "none found"
        problems.append(
            f"{lines.where(('sources', i))}: sources[{i}]: {_files([k for k, _ in no_text], source.path)} "
            f"{'has' if len(no_text) == 1 else 'have'} no `text` column; map one with `columns: {{text: <column>}}` "
            f"(columns: {shown})"
        )
    return available


def _resolve_sources(draft: Draft, base: Path, problems: list[str]) -> tuple[list[ResolvedSource], set[str], str]:
    """The sources' files, the columns they bring, and the first source with a problem ('' when none): the columns
    of that source depend on what its author meant."""
    resolved_sources: list[ResolvedSource] = []
    available: set[str] = set(META_COLUMNS)
    doubt = ""
    for i, source, exact in draft.sources():
        doubt = doubt or ("" if exact else f"sources[{i}]")
        if source is None:
            continue
        where = draft.lines.where(("sources", i, "path" if source.path else "hub"))
        try:
            resolved = resolve_source(i, source, base)
        except CurateError as exc:
            problems.append(f"{where}: sources[{i}]: {exc}")
            continue
        if resolved is None:
            looked = " and in ".join(dict.fromkeys(str(p) for p in (Path.cwd(), draft.path.parent.resolve())))
            problems.append(
                f"{where}: sources[{i}].path: no file matches '{source.path}' (looked in {looked})"
                + _elsewhere(i, source, base, draft)
            )
            continue
        for f in resolved.files:
            other = next((r for r in resolved_sources for g in r.files if g.key == f.key), None)
            if other is not None:
                problems.append(
                    f"{where}: sources[{i}]: {f.key} is also read by sources[{other.index}]; each file "
                    "may be read once (its rows' ids would collide)"
                )
        resolved_sources.append(resolved)
        available |= _check_columns(draft, resolved, problems if exact else [])  # a typo's mapping: said apart
    return resolved_sources, available, doubt


def _elsewhere(index: int, source: Source, base: Path, draft: Draft) -> str:
    """A hint when a source's files are in the other folder than the one its sibling sources were found in."""
    other, name = (
        (draft.path.parent, "the recipe's folder") if base == Path(".") else (Path("."), "the working directory")
    )
    if other == base or resolve_source(index, source, other) is None:
        return ""
    return f"; it matches relative to {name}, but the other sources do not: write every path relative to one folder"


def _follow_on(doubt: str) -> str:
    return f" (maybe because of the problem in {doubt})" if doubt else ""


def _check_steps(draft: Draft, available: set[str], doubt: str, problems: list[str]) -> tuple[set[str], str]:
    """Every step finds the columns it needs. A step with a problem is checked as it would be without its invalid
    keys; what comes after it may depend on what was meant, so those problems say so. Returns the columns at the end
    and the first part with a problem."""
    producers: dict[str, str] = {}
    for name in step_names():
        for col in _safe_produces(name):
            producers.setdefault(col, name)
    valid = {spec.index: spec for spec in draft.steps}
    for index in sorted(set(valid) | set(draft.invalid_steps)):
        if index in valid:
            name, config = valid[index].name, valid[index].config
        else:
            name, params = draft.invalid_steps[index]
            config = lenient(get_step(name).Config, params or {})
        step = get_step(name)(config, StepContext(seed=0, index=index)) if config is not None else None
        for column in step.requires() if step is not None else []:
            if column not in available:
                hint = f"; it is added by a `{producers[column]}` step before this one" if column in producers else ""
                problems.append(
                    f"{draft.lines.where(('steps', index, name))}: steps[{index}].{name}: column '{column}' does not "
                    f"exist at this point{hint} (columns: {', '.join(sorted(available))}){_follow_on(doubt)}"
                )
        available = available | set(step.produces() if step is not None else _safe_produces(name))
        doubt = doubt or ("" if index in valid else f"steps[{index}]")
    return available, doubt


def _check_output_columns(draft: Draft, available: set[str], doubt: str, problems: list[str]) -> None:
    """The columns the output and the card name exist at the end of the steps."""
    output, card = draft.output(), lenient(Card, draft.data.get("card") or {})
    named = [(("output", key), getattr(output, key)) for key in ("split_by", "stratify_by") if output is not None]
    named += [(("card", "language_columns", i), c) for i, c in enumerate(card.language_columns if card else [])]
    for path, column in named:
        if column is not None and column not in available:
            label = f"{path[0]}.{path[1]}" + (f"[{path[2]}]" if len(path) > 2 else "")
            problems.append(
                f"{draft.lines.where(path)}: {label}: no column '{column}';{suggest(column, sorted(available))}".rstrip(
                    ";"
                )
                + f" (columns: {', '.join(sorted(available))}){_follow_on(doubt)}"
            )


def _inputs(resolved: list[ResolvedSource]) -> dict[str, Path]:
    return {f.key: f.path for s in resolved for f in s.files if f.path is not None}


def _check_output_dir(draft: Draft, base: Path, resolved: list[ResolvedSource], problems: list[str]) -> None:
    """The recipe's `output.dir` can be curate's: new, empty or a curate output, and without input files in it."""
    output = draft.output()
    if output is not None:
        out = Path(os.path.normpath(base / output.dir))
        where = draft.lines.where(("output", "dir"))
        problems += [f"{where}: output.dir: {p}" for p in output_problems(out, _inputs(resolved))]


def _line(problem: str, filename: str) -> int:
    """The line a problem points at, to list problems in recipe order."""
    found = re.match(r":(\d+)", problem[len(filename) :]) if problem.startswith(filename) else None
    return int(found.group(1)) if found else 0


def check_draft(draft: Draft, check_output_dir: bool = True) -> tuple[Path, list[ResolvedSource], list[str]]:
    """The folder relative paths resolve against, the resolved sources, and every problem (structure, files,
    columns, the output folder unless `curate run --out` replaces it), in the order of the recipe's lines."""
    problems = list(draft.problems)
    valid_sources = [s for _, s, _ in draft.sources() if s is not None]
    base = project_dir(valid_sources, draft.path.parent)
    resolved, available, doubt = _resolve_sources(draft, base, problems)
    available, doubt = _check_steps(draft, available, doubt, problems)
    _check_output_columns(draft, available, doubt, problems)
    if check_output_dir:
        _check_output_dir(draft, base, resolved, problems)
    filename = str(draft.path)
    return base, resolved, sorted(problems, key=lambda p: _line(p, filename))


def _safe_produces(name: str) -> list[str]:
    """Columns a step adds with its default config (for hints only); steps without defaults add nothing here."""
    cls = get_step(name)
    try:
        return cls(cls.Config.model_validate({})).produces()
    except Exception:
        return []


def load_and_check(path: str | Path, out: Path | None = None) -> tuple[Recipe, list[ResolvedSource]]:
    """The recipe and its sources, checked; `out` (`curate run --out`) replaces `output.dir`, and its problems are
    an OutputError after the recipe's own."""
    draft = read_recipe(path)
    base, resolved, problems = check_draft(draft, check_output_dir=out is None)
    if problems:
        raise RecipeError(problems)
    recipe = draft.recipe()
    recipe.base = base
    if out is not None and (problems := output_problems(Path(out), _inputs(resolved))):
        raise OutputError("\n".join(problems))
    return recipe, resolved

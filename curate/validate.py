"""Checks of a recipe against the world: files exist, mapped columns exist, every step finds the columns it needs.

Runs before any work in `curate run`, and alone in `curate validate`.
"""

from __future__ import annotations

from pathlib import Path

from curate.errors import CurateError, OutputError, RecipeError
from curate.io.readers import META_COLUMNS, not_text_kind, peek_columns
from curate.outdir import output_problems
from curate.recipe import Recipe, load_recipe
from curate.registry import get_step, step_names, suggest
from curate.sources import ResolvedSource, resolve_source
from curate.stages.base import StepContext


def _check_columns(recipe: Recipe, resolved: ResolvedSource, problems: list[str]) -> set[str]:
    source, lines, i = resolved.source, recipe.lines, resolved.index
    available: set[str] = set(source.columns) | {"text"}
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
        shown = ", ".join(sorted(columns)) or "none found"
        for canonical, column in source.columns.items():
            if column not in columns:
                problems.append(
                    f"{lines.where(('sources', i, 'columns', canonical))}: sources[{i}].columns.{canonical}: "
                    f"column '{column}' not found in {f.key};{suggest(column, sorted(columns))}".rstrip(";")
                    + f" (columns: {shown})"
                )
        if "text" not in source.columns and "text" not in columns:
            problems.append(
                f"{lines.where(('sources', i))}: sources[{i}]: {f.key} has no `text` column; map one with "
                f"`columns: {{text: <column>}}` (columns: {shown})"
            )
        for canonical, column in {"text": "text", **source.columns}.items():
            kind = not_text_kind(columns[column]) if columns.get(column) is not None else None
            if kind is not None:
                mapped = ("sources", i, "columns", canonical) if canonical in source.columns else ("sources", i)
                where = lines.where(mapped)
                problems.append(f"{where}: sources[{i}].columns.{canonical}: column '{column}' of {f.key} holds {kind} "
                                f"({columns[column]}), not text; map a text column")  # fmt: skip
    return available


def check_recipe(recipe: Recipe, out: Path | None = None) -> list[ResolvedSource]:
    """Raise RecipeError listing every problem; return the resolved sources when there are none. The output folder
    is the recipe's `output.dir`, unless `out` (`curate run --out`) replaces it: then its problems are an
    OutputError, raised after the recipe's own."""
    problems: list[str] = []
    resolved_sources: list[ResolvedSource] = []
    available = set(META_COLUMNS)
    for i, source in enumerate(recipe.model.sources):
        where = recipe.lines.where(("sources", i, "path" if source.path else "hub"))
        try:
            resolved = resolve_source(i, source, recipe.path.parent)
        except CurateError as exc:
            problems.append(f"{where}: sources[{i}]: {exc}")
            continue
        if resolved is None:
            problems.append(
                f"{where}: sources[{i}].path: no file matches '{source.path}' "
                f"(looked in {Path.cwd()} and in {recipe.path.parent.resolve()})"
            )
            continue
        for f in resolved.files:
            other = next((r for r in resolved_sources for g in r.files if g.key == f.key), None)
            if other is not None:
                problems.append(f"{where}: sources[{i}]: {f.key} is also read by sources[{other.index}]; each file "
                                "may be read once (its rows' ids would collide)")  # fmt: skip
        resolved_sources.append(resolved)
        available |= _check_columns(recipe, resolved, problems)
    producers: dict[str, str] = {}
    for name in step_names():
        for col in _safe_produces(name):
            producers.setdefault(col, name)
    for spec in recipe.steps:
        step = get_step(spec.name)(spec.config, StepContext(seed=recipe.model.seed, index=spec.index))
        for column in step.requires():
            if column not in available:
                hint = f"; it is added by a `{producers[column]}` step before this one" if column in producers else ""
                problems.append(
                    f"{recipe.lines.where(('steps', spec.index, spec.name))}: steps[{spec.index}].{spec.name}: "
                    f"column '{column}' does not exist at this point{hint} (columns: {', '.join(sorted(available))})"
                )
        available |= set(step.produces())
    for key in ("split_by", "stratify_by"):
        column = getattr(recipe.model.output, key)
        if column is not None and column not in available:
            problems.append(f"{recipe.lines.where(('output', key))}: output.{key}: no column '{column}' "
                            f"(columns: {', '.join(sorted(available))})")  # fmt: skip
    inputs = {f.key: f.path for s in resolved_sources for f in s.files if f.path is not None}
    output = output_problems(Path(out or recipe.model.output.dir), inputs)
    if out is None:
        problems += [f"{recipe.lines.where(('output', 'dir'))}: output.dir: {p}" for p in output]
    if problems:
        raise RecipeError(problems)
    if output:
        raise OutputError("\n".join(output))
    return resolved_sources


def _safe_produces(name: str) -> list[str]:
    """Columns a step adds with its default config (for hints only); steps without defaults add nothing here."""
    cls = get_step(name)
    try:
        return cls(cls.Config.model_validate({})).produces()
    except Exception:
        return []


def load_and_check(path: str | Path, out: Path | None = None) -> tuple[Recipe, list[ResolvedSource]]:
    recipe = load_recipe(path)
    return recipe, check_recipe(recipe, out)

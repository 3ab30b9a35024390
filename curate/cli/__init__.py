"""The `curate` command. User errors are caught here, once, and printed without a traceback."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from curate import __version__
from curate.cli import review, train
from curate.core.errors import CurateError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Build clean, balanced, documented multilingual fine-tuning datasets.",
)
err = Console(stderr=True, soft_wrap=True)
out = Console()


def _version(value: bool) -> None:
    if value:
        out.print(f"curate {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version.")):
    pass


@app.command()
def run(
    recipe: Path = typer.Argument(..., metavar="RECIPE", help="the recipe YAML"),
    out_dir: Path | None = typer.Option(None, "--out", help="output folder (default: the recipe's output.dir)"),
    resume: bool = typer.Option(False, "--resume", help="continue an interrupted run where it stopped"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="read only the first N records"),
    fresh: bool = typer.Option(False, "--fresh", help="ignore cached steps and recompute everything"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
    engine: str = typer.Option("local", "--engine", help="local, or ray to spread the work over a Ray cluster"),
    address: str | None = typer.Option(
        None, "--address", help="Ray cluster address (default: RAY_ADDRESS, else a local cluster)"
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Ray workers per step (default: the cluster's CPUs)"
    ),
) -> None:
    """Run a recipe: read, apply the steps, write shards, rejects, manifest and card."""
    from curate.core.progress import Reporter
    from curate.outputs.summary import accounting_line
    from curate.run import RunOptions, run_recipe
    from curate.run.validate import load_and_check

    recipe_obj, sources = load_and_check(recipe, out_dir)
    command = "curate run " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if sys.argv[1:2] == ["run"] else ""
    if engine not in ("local", "ray"):
        raise CurateError(f"--engine must be `local` or `ray`, not {engine!r}")
    options = RunOptions(
        out=out_dir,
        resume=resume,
        limit=limit,
        fresh=fresh,
        command=command,
        engine=engine,
        address=address,
        workers=workers,
    )
    reporter = Reporter(err, quiet=quiet)
    where = out_dir or recipe_obj.output_dir()
    reporter.info(f"output: {where}" + (f" (= {where.resolve()})" if not where.is_absolute() else ""))
    manifest = run_recipe(recipe_obj, sources, options, reporter)
    if manifest.get("_noop"):
        return
    acc = manifest["accounting"]
    err.print(
        f"wrote {where}: {acc['rows_out']:,} rows in data/, {acc['rows_rejected']:,} in rejects/\n"
        f"accounting: {accounting_line(acc)}",
        highlight=False,
        markup=False,
    )
    for note in manifest["notes"]:
        err.print(f"note: {note}", highlight=False, markup=False)
    if not acc["ok"]:
        raise typer.Exit(1)


@app.command()
def validate(recipe: Path = typer.Argument(..., metavar="RECIPE", help="the recipe YAML")) -> None:
    """Check a recipe (keys, types, steps, files, columns) without running it."""
    from curate.run.validate import load_and_check

    recipe_obj, sources = load_and_check(recipe)
    files = sum(len(s.files) for s in sources)
    out.print(f"{recipe}: OK ({len(sources)} sources, {files} files, {len(recipe_obj.steps)} steps)", highlight=False)


@app.command()
def steps(
    names: list[str] | None = typer.Argument(
        None, metavar="NAME", help="only these steps (default: all)", show_default=False
    ),
    markdown: bool = typer.Option(False, "--markdown", help="print the README's step reference"),
) -> None:
    """List the registered steps (or only the ones named) with their parameters and defaults."""
    from curate.cli.docs import markdown as render_markdown
    from curate.cli.docs import step_reference
    from curate.core.yamlmap import suggest
    from curate.stages.registry import step_names

    for name in names or []:
        if name not in step_names():
            hint = suggest(name, step_names()).strip()
            raise typer.BadParameter(
                f"no step '{name}'{'; ' + hint if hint else ''} (steps: {', '.join(step_names())})", param_hint="'NAME'"
            )
    if markdown:
        sys.stdout.write(render_markdown(names))
        return
    for step in step_reference(names):
        table = Table(title=escape(f"{step['name']}: {step['doc']}"), title_justify="left", show_edge=False)
        for col in ("parameter", "type", "default", "meaning"):
            table.add_column(col)
        for p in step["params"]:
            table.add_row(*(escape(v) for v in (p["name"], p["type"], p["default"], p["doc"])))
        out.print(table)
        out.print()


@app.command()
def inspect(output: Path = typer.Argument(..., metavar="OUT", help="the output folder of a run")) -> None:
    """Show what a run did: counts per step, drop reasons, splits, the accounting check."""
    from curate.outputs.inspect import inspect_output

    inspect_output(output, out)


@app.command()
def report(output: Path = typer.Argument(..., metavar="OUT", help="the output folder of a run")) -> None:
    """Write OUT/report.html: funnel, languages before/after, lengths, drop reasons (plots also as PNG)."""
    from curate.outputs.report import build_report

    out.print(f"wrote {build_report(output)}", highlight=False)


@app.command()
def trace(
    output: Path = typer.Argument(..., metavar="OUT", help="the output folder of a run"),
    row_id: str = typer.Argument(..., metavar="ROW_ID", help="the row's _id"),
) -> None:
    """Show one row's lineage: its source line, what each step did to it, where it ended."""
    from curate.outputs.trace import trace_row

    lineage = trace_row(output, row_id)
    out.print(
        f"[bold]{lineage['id']}[/bold]: {lineage['status']}" + (f" ({lineage['split']})" if lineage["split"] else "")
    )
    out.print(
        f"source: {lineage['source']}, record {lineage['row']}"
        + (f" (line {lineage['row'] + 1})" if lineage["line"] else ""),
        highlight=False,
        markup=False,
    )
    if lineage["line"]:
        out.print(f"  {lineage['line']}", highlight=False, markup=False)
    for key in ("parent", "repeat_of"):
        if lineage[key]:
            out.print(f"{key.replace('_', ' ')}: {lineage[key]}", highlight=False)
    for step in lineage["steps"]:
        out.print(f"- {step['step']}: " + "; ".join(step["what"]), highlight=False, markup=False)


app.add_typer(review.app, name="review")
app.command("train")(train.train)
app.command("eval")(train.evaluate)


# The usage errors typer raises (unknown command or option, missing argument) derive from the ClickException of the
# click that typer runs on: its own copy since typer 0.2x, the `click` package before. `typer.BadParameter` is one of
# them in every version, so its ancestor named ClickException is the class to catch.
INTERRUPTED = 130
USAGE_ERRORS = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def main() -> None:
    """The console script: every user mistake ends here as a short message and an exit code, never a traceback."""
    try:
        code = app(prog_name="curate", standalone_mode=False)
    except CurateError as exc:
        if getattr(exc, "pause", False):  # the run stopped on purpose (rows wait for review): not an error
            err.print(str(exc), highlight=False, markup=False)
        else:
            err.print(f"error: {exc}", style="red", highlight=False, markup=False)
        sys.exit(exc.exit_code)
    except USAGE_ERRORS as exc:  # e.g. `curate frobnicate`, `curate run` without a recipe: usage, exit code 2
        exc.show()
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):  # typer before 0.2x: Ctrl-C is an Abort
        code = INTERRUPTED
    except OSError as exc:  # the file system refused (permissions, a full disk outside a run): no traceback
        err.print(f"error: {exc}", style="red", highlight=False, markup=False)
        sys.exit(1)
    except MemoryError:
        err.print(
            "error: out of memory; lower `engine.batch_rows` / `engine.batch_bytes` in the recipe",
            style="red",
            highlight=False,
            markup=False,
        )
        sys.exit(1)
    if code == INTERRUPTED:  # typer 0.2x turns Ctrl-C into Exit(130), which it returns without standalone mode
        resumable = sys.argv[1:2] in (["run"], ["train"])
        err.print(
            "interrupted" + ("; run the same command with --resume to continue where it stopped" if resumable else ""),
            highlight=False,
        )
    sys.exit(code if isinstance(code, int) else 0)  # without standalone mode, typer returns an Exit's code


if __name__ == "__main__":
    main()

"""`curate review push|pull|status|export|import OUT`: the review loop on a run's output folder.

Every command works on the review step's folder in OUT/.curate (a run stopped for review, or a finished one that
kept its work folder). `push` sends the queue to Argilla (resuming an interrupted push), `pull` brings the answers
back, `export`/`import` do the same through a JSONL/CSV file without a server, `status` shows where things stand.
Answers are applied by the run itself: `curate run RECIPE --resume` (a finished run is reopened from the review step
on, the steps before it stay cached).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from curate.core.errors import CurateError

app = typer.Typer(no_args_is_help=True, help="Human review: push rows to Argilla, pull answers, or use a file.")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

OUT_ARG = typer.Argument(
    ...,
    metavar="OUT",
    help="the output folder of a run with a review step, or of `curate train` "
    "with a ratings queue (`curate eval --rate`)",
)
STEP_OPT = typer.Option(
    None, "--step", help="which review step, by its number in the run's log (when there are several)"
)


def _store(output: Path, step: int | None):
    """The review step's store in a run's work folder, or the ratings queue of a `curate train` output folder."""
    from curate.review.ratings import store_for
    from curate.review.state import ReviewStore, find_stage

    ratings = store_for(output) if not (output / ".curate").exists() else None
    if ratings is not None:
        return output, ratings
    stage = find_stage(output, step)
    return stage, ReviewStore(stage)


def _print_ratings(found: dict[str, Any]) -> None:
    from curate.review.ratings import REPORT_HEAD, report_rows

    table = Table(
        show_edge=False,
        title="ratings per language (1-5): humans beside the LLM judge on the same outputs",
        title_justify="left",
    )
    for i, col in enumerate(REPORT_HEAD):
        table.add_column(col, justify="left" if i == 0 else "right")
    rows = report_rows(found)
    for i, row in enumerate(rows):
        table.add_row(*row, end_section=i == len(rows) - 2)
    out.print(table)
    out.print(f"raters: {', '.join(found['raters']) or 'none yet'}", highlight=False)


def _after_answers_or_ratings(output: Path, stage: Path, store) -> None:
    """Ratings: report and card; data review: reopen the run so that `--resume` applies the answers."""
    from curate.review.ratings import is_ratings, write_report

    if is_ratings(store.spec()):
        _print_ratings(write_report(output, store))
        if (output / "metrics.json").is_file():  # a `curate train` output: its model card shows the ratings
            from curate.train.card import write_card

            write_card(output)
        out.print(f"wrote {output}/ratings.json and ratings.md", highlight=False)
        return
    _print_summary(_summary(store))
    _after_answers(output, stage, store)


def _resume_hint(output: Path) -> str:
    manifest = output / "manifest.json"
    if manifest.exists():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        recipe = data.get("recipe_file") or "<recipe>"
        return f"curate run {recipe} --out {output} --resume"
    return f"the same `curate run ...` command with --resume (e.g. curate run <recipe> --out {output} --resume)"


def _summary(store, answers=None) -> dict[str, Any]:
    from curate.review import resolve as res

    spec, queue = store.spec(), store.queue()
    answers = store.answers() if answers is None else answers
    decisions = res.resolve(queue, answers, spec["correct"], spec.get("ties", "reject"))
    return {
        "queued": queue.height,
        **res.counts(decisions, spec["correct"]),
        "agreement": res.agreement(decisions, answers),
    }


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(
        show_edge=False, title="rows (queued = accepted + corrected + rejected + pending)", title_justify="left"
    )
    for col in ("queued", "accepted", "corrected", "rejected", "pending"):
        table.add_column(col, justify="right")
    table.add_row(*(f"{summary[k]:,}" for k in ("queued", "accepted", "corrected", "rejected", "pending")))
    out.print(table)
    agreement = summary["agreement"]
    if agreement["rows_with_several_votes"]:
        out.print(
            f"agreement over {agreement['rows_with_several_votes']} rows with several votes: "
            f"{agreement['unanimous']:.0%} unanimous, pairwise {agreement['pairwise_agreement']:.2f}, "
            f"Krippendorff's alpha {_fmt(agreement['krippendorff_alpha'])}",
            highlight=False,
        )
    if agreement["annotators"]:
        who = Table(show_edge=False, title="annotators", title_justify="left")
        for col in ("annotator", "votes", "accepted", "rejected", "with majority"):
            who.add_column(col)
        for name, a in agreement["annotators"].items():
            who.add_row(
                name, str(a["votes"]), str(a["accepted"]), str(a["rejected"]), _fmt(a["with_majority"], pct=True)
            )
        out.print(who)


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0%}" if pct else f"{value:.2f}"


def _after_answers(output: Path, stage: Path, store) -> None:
    """A finished run whose answers changed is reopened so that `curate run --resume` applies them."""
    from curate.review.state import reopen

    hint = _resume_hint(output)
    changed = store.applied_fingerprint() != store.answers_fingerprint()
    if not changed:
        out.print(f"no new answers since the run applied them; {output} is up to date", highlight=False)
        return
    if reopen(output, stage):
        out.print(
            f"{output} was reopened from the review step on (its data/ is now out of date); apply the "
            f"answers with:\n  {hint}",
            highlight=False,
        )
    else:
        out.print(f"apply them and go on with:\n  {hint}", highlight=False)


@app.command()
def push(
    output: Path = OUT_ARG,
    step: int | None = STEP_OPT,
    again: bool = typer.Option(False, "--again", help="send every record once more (updates them; no duplicates)"),
) -> None:
    """Push the review queue to Argilla (ARGILLA_API_URL, ARGILLA_API_KEY); an interrupted push resumes."""
    from curate.review.argilla_client import connect
    from curate.review.argilla_client import push as push_queue

    _, store = _store(output, step)
    conn = connect()
    with err.status("pushing records to Argilla") as status:
        done = push_queue(
            conn, store, again=again, progress=lambda n, total: status.update(f"pushed {n:,} of {total:,} records")
        )
    what = f"{done['new']:,} records sent" if done["new"] else "nothing new to send (use --again to re-send)"
    out.print(
        f"{done['total']:,} rows in Argilla dataset '{done['dataset']}' (workspace '{done['workspace']}') at "
        f"{done['url']}: {what}",
        highlight=False,
    )


@app.command()
def pull(output: Path = OUT_ARG, step: int | None = STEP_OPT) -> None:
    """Bring the submitted answers back from Argilla and resolve them (majority, agreement)."""
    from curate.review.argilla_client import connect, fetch_answers

    stage, store = _store(output, step)
    if not store.pushed:
        raise CurateError(f"{output}: the review queue was not pushed to Argilla yet (`curate review push {output}`)")
    answers = fetch_answers(connect(), store.spec())
    store.save_answers(answers, replace_origin="argilla")
    out.print(f"pulled {answers.height:,} responses from Argilla dataset '{store.spec()['dataset']}'", highlight=False)
    _after_answers_or_ratings(output, stage, store)


@app.command()
def status(output: Path = OUT_ARG, step: int | None = STEP_OPT) -> None:
    """Where the review stands: rows queued, pushed, answered, agreement (asks Argilla when pushed)."""
    import polars as pl

    from curate.review.ratings import is_ratings, report

    stage, store = _store(output, step)
    spec, queue = store.spec(), store.queue()
    state = store.push_state()
    selection = spec["selection"]
    chosen = ", ".join(f"{k} {v}" for k, v in selection["chosen"].items())
    what = "ratings" if is_ratings(spec) else f"review step {stage.name[:2].lstrip('0')}"
    out.print(f"{what}: {queue.height:,} rows queued ({chosen}) of {selection['rows_seen']:,}", highlight=False)
    if state:
        done = (
            "pushed"
            if state.get("done")
            else f"push stopped after {state.get('sent', 0):,} of {state.get('total', 0):,}"
        )
        out.print(
            f"Argilla dataset '{state['dataset']}' (workspace '{state.get('workspace')}') at {state['url']}: {done}",
            highlight=False,
        )
    else:
        out.print("not pushed to Argilla", highlight=False)
    answers = store.answers()
    if store.pushed:
        from curate.review.argilla_client import connect, fetch_answers

        try:
            fresh = fetch_answers(connect(), spec)
            answers = pl.concat([answers.filter(pl.col("origin") != "argilla"), fresh], how="diagonal_relaxed")
        except CurateError as exc:
            err.print(
                f"warning: {exc}; showing the answers pulled before", style="yellow", highlight=False, markup=False
            )
    if is_ratings(spec):
        _print_ratings(report(queue, answers))
        return
    _print_summary(_summary(store, answers))


@app.command("export")
def export_(
    output: Path = OUT_ARG,
    file: Path = typer.Argument(..., metavar="FILE", help="where to write the queue: .jsonl or .csv"),
    step: int | None = STEP_OPT,
) -> None:
    """Write the review queue as JSONL/CSV, with empty answer columns to fill in (no server needed)."""
    from curate.review.queue import export_queue

    _, store = _store(output, step)
    n = export_queue(store.queue(), store.spec(), file)
    out.print(
        f"wrote {n:,} rows to {file}; fill in `decision` (accept/reject) and, if needed, the corrections, "
        f"`issues` and `note`, then: curate review import {output} {file}",
        highlight=False,
    )


@app.command("import")
def import_(
    output: Path = OUT_ARG,
    file: Path = typer.Argument(..., metavar="FILE", help="a filled-in queue file (.jsonl or .csv)"),
    annotator: str | None = typer.Option(
        None, "--annotator", help="who answered (when the file has no `annotator` column)"
    ),
    step: int | None = STEP_OPT,
) -> None:
    """Read the answers of a filled-in queue file; `curate run --resume` applies them."""
    from curate.review.queue import read_answers

    stage, store = _store(output, step)
    queue = store.queue()
    answers = read_answers(file, store.spec(), set(queue["_id"].to_list()), annotator)
    store.save_answers(answers)
    out.print(f"imported {answers.height:,} answers from {file}", highlight=False)
    _after_answers_or_ratings(output, stage, store)

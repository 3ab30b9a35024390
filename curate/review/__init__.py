"""Human review in Argilla: choose rows, push them, pull the answers, apply them as a recorded step.

The loop is two-way and safe to repeat: a record's id in Argilla is the row's `_id` (pushing twice makes no
duplicates), every stage of the loop leaves a file in the review step's work folder (`queue.parquet`, `push.json`,
`answers.parquet`...), so an interrupted push resumes and a stopped run goes on with `curate run --resume`. Without
a server, the same queue goes out as JSONL/CSV (`curate review export`) and comes back (`curate review import`).

Only light modules are imported here; the Argilla SDK is imported inside the functions that talk to a server.
"""

from __future__ import annotations

from curate.core.errors import CurateError

REJECTED = "review:rejected"
PENDING_REASON = "review:pending"
DEFAULT_LABELS = ("wrong_language", "pii_left", "bad_translation", "offensive", "other")
ACCEPT, REJECT = "accept", "reject"


class ReviewPending(CurateError):
    """The run stopped on purpose: rows wait for reviewers. Not a failure; the message says what to do next.

    The CLI prints it without the `error:` prefix; exit code 3 lets a script tell "waiting" from "done" (0) and
    "failed" (1, 2)."""

    exit_code = 3
    pause = True


class ReviewServerError(CurateError):
    """Argilla could not be reached, refused the key, or kept failing after retries."""

    exit_code = 1

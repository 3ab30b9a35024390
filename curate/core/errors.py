"""User-facing errors.

Every mistake a user can make (a recipe typo, a missing file, bad input with `on_bad_input: fail`) raises a
`CurateError` whose message says what to do. The CLI catches them once and prints the message, no traceback.
"""

from __future__ import annotations


class CurateError(Exception):
    """An error the user can act on; `exit_code` is what the CLI exits with."""

    exit_code = 1


class RecipeError(CurateError):
    """The recipe is invalid; raised before any work is done."""

    exit_code = 2

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        head = "invalid recipe" if len(self.problems) == 1 else f"invalid recipe ({len(self.problems)} problems)"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class InputError(CurateError):
    """Input data that cannot be read at all, or bad input when the recipe says `on_bad_input: fail`."""

    exit_code = 1


class SettingError(CurateError):
    """An environment variable or option holds a value curate can't use."""

    exit_code = 2


class OutputError(CurateError):
    """The output folder can't be used: it holds files that are not curate's, or another run is writing to it."""

    exit_code = 2


class MissingDependencyError(CurateError):
    """An optional feature is used without its extra installed."""

    exit_code = 2

    def __init__(self, feature: str, package: str, extra: str):
        super().__init__(
            f"{feature} needs the Python package '{package}', which is not installed. "
            f"Install it with: pip install 'curate[{extra}]'"
        )

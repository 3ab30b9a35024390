"""The registry from recipe names to step classes.

A recipe step `- langid: {...}` is looked up here by its key. Steps register themselves with `@register` when their
module is imported; the first lookup imports every other module of `curate.stages`, so adding a step is adding a file.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from curate.stages.base import Step

_STEPS: dict[str, type[Step]] = {}


def register(name: str):
    """Class decorator: make a step available to recipes under `name`."""

    def wrap(cls: type[Step]) -> type[Step]:
        if name in _STEPS and _STEPS[name] is not cls:
            raise ValueError(f"step name {name!r} registered twice ({_STEPS[name].__module__}, {cls.__module__})")
        cls.name = name
        _STEPS[name] = cls
        return cls

    return wrap


_loaded = False


def _load_all() -> None:
    """Import every module of `curate.stages` (each registers its step). Adding a step is adding a file."""
    global _loaded
    if _loaded:
        return
    import importlib
    import pkgutil

    import curate.stages

    for module in pkgutil.iter_modules(curate.stages.__path__):
        if not module.name.startswith("_") and module.name not in ("base", "registry"):
            importlib.import_module(f"curate.stages.{module.name}")
    _loaded = True


def step_names() -> list[str]:
    _load_all()
    return sorted(_STEPS)


def get_step(name: str) -> type[Step] | None:
    _load_all()
    return _STEPS.get(name)


def step_notes(name: str, params: dict, stats: dict) -> list[str]:
    """The warnings step `name` gives about its run (see `Step.notes`)."""
    step = get_step(name)
    return step.notes(params, stats) if step else []


def card_sections(steps: list[dict]) -> list[dict]:
    """The card's sections about a run's steps (their manifest entries): each kind of step writes about its steps
    (`Step.card_sections`); in recipe order."""
    sections = []
    for name in dict.fromkeys(s["name"] for s in steps):
        step = get_step(name)
        if step is not None:
            sections += [asdict(section) for section in step.card_sections([s for s in steps if s["name"] == name])]
    return sorted(sections, key=lambda section: section["index"])


def absent_step_notes(names: list[str]) -> list[str]:
    """The limitations steps state when a recipe lacks them (`Step.note_if_absent`: no pii step, no PII scrubbed)."""
    return [cls.note_if_absent for name in step_names() if name not in names and (cls := get_step(name)).note_if_absent]

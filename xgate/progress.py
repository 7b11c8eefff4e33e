"""What a long command is doing right now, on the terminal: one line that changes, gone when done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console


def quiet(_: str) -> None:
    """The step listener of code run outside a terminal (Airflow tasks, tests)."""


@contextmanager
def progress() -> Iterator[Callable[[str], None]]:
    """A spinner with the current step and the time spent, on stderr, gone when done (a terminal only: a
    log or a pipe gets the result lines alone)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    if not err.is_terminal:
        yield quiet
        return
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
    ) as shown:
        task = shown.add_task("starting")
        yield lambda text: shown.update(task, description=text)

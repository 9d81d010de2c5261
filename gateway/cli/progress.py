"""Progress of long commands (fixture load and dump, capture import, the simulator): a bar on standard error
while standard output is a terminal, nothing with ``--quiet`` or when the output goes to a file or a pipe
(a CI log gets the command's summary line only)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

#: Advances the bar by a number of units (bytes, clients, steps).
Advance = Callable[[int], None]

QUIET = click.option("--quiet", "-q", is_flag=True, help="No progress bar (also off when not on a terminal).")


def shown(quiet: bool) -> bool:
    return not quiet and sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def progress(label: str, total: int, *, quiet: bool) -> Iterator[Advance]:
    """A bar of ``total`` units while the block runs; yields the function that advances it."""
    if not shown(quiet):
        yield _nothing
        return
    with click.progressbar(
        length=total,
        label=label,
        file=sys.stderr,
        show_pos=True,
        show_percent=True,
        update_min_steps=1,
    ) as bar:
        yield bar.update


def _nothing(_units: int) -> None:
    return None

"""Progress reporting for long work (rendering, simulation).

On an interactive terminal a tqdm bar is shown; elsewhere (CI, pipes, notebooks) a few plain
lines are written to stderr, or nothing when ``quiet``. Library code takes a ``progress``
argument and calls :func:`track`; only the CLI decides whether it is on.
"""

from __future__ import annotations

import os
import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

__all__ = ["track", "is_interactive"]


def is_interactive(stream=None) -> bool:
    """True on a terminal and not in CI (``CI`` environment variable unset or false)."""
    stream = stream or sys.stderr
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def track(items: Iterable[T], total: int | None = None, desc: str = "",
          enabled: bool = True, plain_lines: bool = True) -> Iterator[T]:
    """Iterate over ``items`` while showing progress.

    Parameters
    ----------
    items : iterable
    total : int, optional
        Number of items (``len(items)`` when omitted and available).
    desc : str
        Label of the work.
    enabled : bool
        ``False`` shows nothing at all.
    plain_lines : bool
        Off a terminal, write one ``desc: i/total`` line per item (``True``) or nothing.
    """
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if not enabled:
        yield from items
        return
    if is_interactive():
        from tqdm.auto import tqdm

        yield from tqdm(items, total=total, desc=desc, leave=False, file=sys.stderr)
        return
    for i, item in enumerate(items, 1):
        yield item
        if plain_lines:
            print(f"{desc}: {i}/{total if total is not None else '?'}", file=sys.stderr,
                  flush=True)

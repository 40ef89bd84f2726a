"""Name the test and the code that opened a socket the garbage collector finds unclosed.

An asyncio StreamWriter dropped without `close()` warns only when the collector
reaches it, often during a later test, which then fails on a warning that is not
its own. Each writer notes the test running and the stack that made it, and a
writer collected unclosed says so in a warning of its own, beside asyncio's.
"""

from __future__ import annotations

import asyncio
import traceback
import warnings
from typing import Any

running = ["(no test)"]  # the node id of the test now running, set by conftest

# A CI log may keep only its tail: the project's own frames and the test's name go last.
OURS = ("/hub/", "/streams/", "/tests/", "/bench/")

_init = asyncio.StreamWriter.__init__
_del = asyncio.StreamWriter.__del__


def _noting_init(self: asyncio.StreamWriter, *args: Any, **kwargs: Any) -> None:
    _init(self, *args, **kwargs)
    self._opened_in = (running[0], traceback.extract_stack(limit=40)[:-1])  # type: ignore[attr-defined]


def origin(test: str, stack: traceback.StackSummary) -> str:
    """Say where a writer was opened: the innermost library frames, then ours, then the test."""
    ours = [f for f in stack if any(part in f.filename for part in OURS)]
    theirs = [f for f in stack if f not in ours][-4:]
    return (
        "the unclosed StreamWriter was opened at (innermost library frames first):\n"
        + "".join(traceback.format_list(theirs[::-1]))
        + "called from the project's code (innermost first):\n"
        + "".join(traceback.format_list(ours[::-1]))
        + f"while running {test}"
    )


def _telling_del(self: asyncio.StreamWriter) -> None:
    transport = getattr(self, "_transport", None)
    unclosed = transport is not None and not transport.is_closing()
    try:
        _del(self)  # asyncio's own warning (an error under the suite's filters)
    finally:
        if unclosed:
            test, stack = getattr(self, "_opened_in", ("(unknown)", traceback.StackSummary()))
            warnings.warn(origin(test, stack), ResourceWarning, stacklevel=1)


# Reported as asyncio's is, so the filters naming `StreamWriter.__del__` still apply.
_telling_del.__qualname__ = "StreamWriter.__del__"


def install() -> None:
    asyncio.StreamWriter.__init__ = _noting_init  # type: ignore[method-assign]
    asyncio.StreamWriter.__del__ = _telling_del  # type: ignore[method-assign]

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

_init = asyncio.StreamWriter.__init__
_del = asyncio.StreamWriter.__del__


def _noting_init(self: asyncio.StreamWriter, *args: Any, **kwargs: Any) -> None:
    _init(self, *args, **kwargs)
    self._opened_in = (running[0], "".join(traceback.format_stack(limit=12)[:-1]))  # type: ignore[attr-defined]


def _telling_del(self: asyncio.StreamWriter) -> None:
    transport = getattr(self, "_transport", None)
    unclosed = transport is not None and not transport.is_closing()
    try:
        _del(self)  # asyncio's own warning (an error under the suite's filters)
    finally:
        if unclosed:
            test, stack = getattr(self, "_opened_in", ("(unknown)", ""))
            warnings.warn(f"the unclosed StreamWriter was opened in {test}, at:\n{stack}",
                          ResourceWarning, stacklevel=1)  # fmt: skip


# Reported as asyncio's is, so the filters naming `StreamWriter.__del__` still apply.
_telling_del.__qualname__ = "StreamWriter.__del__"


def install() -> None:
    asyncio.StreamWriter.__init__ = _noting_init  # type: ignore[method-assign]
    asyncio.StreamWriter.__del__ = _telling_del  # type: ignore[method-assign]

"""The suite's own aid: an unclosed socket found by the collector names where it was opened."""

from __future__ import annotations

import asyncio
import gc
import socket
import warnings


async def test_a_writer_left_unclosed_names_the_test_and_code_that_opened_it() -> None:
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        del reader, writer
        gc.collect()
    await asyncio.sleep(0)  # let the transport finish closing
    theirs.close()
    told = [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)]
    assert any(m.startswith("unclosed <StreamWriter") for m in told), told  # asyncio's own
    origin = [m for m in told if m.startswith("the unclosed StreamWriter was opened at")]
    assert len(origin) == 1, told
    # The library call that made it, then this file's line, and the test's name last of all:
    # a CI log that keeps only its tail still shows what to fix.
    library, ours = origin[0].split("called from the project's code")
    assert "open_connection" in library and "test_socket_origins.py" not in library
    assert ours.count("test_socket_origins.py") == 2  # the frame, and the test named at the end
    assert ours.rstrip().endswith(
        "test_socket_origins.py::test_a_writer_left_unclosed_names_the_test_and_code_that_opened_it"
    )

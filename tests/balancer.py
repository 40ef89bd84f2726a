"""A round-robin TCP load balancer on loopback, standing in for nginx in front of `hub serve` × N.

Each new connection goes to the next backend; a backend that refuses the
connection is skipped for the one after it, as nginx's `proxy_next_upstream
error` does. Bytes are copied both ways until either side closes, so when a
backend dies its clients' connections end, and a client that reconnects is
sent to a survivor.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class RoundRobin:
    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.chosen: list[int] = []  # the backend port of each connection, in order
        self._turn = 0
        self._pipes: set[asyncio.Task[None]] = set()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            for _ in self.backends:
                port = self.backends[self._turn % len(self.backends)]
                self._turn += 1
                try:
                    server_r, server_w = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    continue  # down: try the next one
                self.chosen.append(port)
                await _splice(client_r, client_w, server_r, server_w)
                return
        finally:
            # Also when cancelled while connecting (at teardown): an unclosed writer left to
            # the garbage collector fails whichever later test is running when it is collected.
            client_w.close()

    def _track(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._accept(client_r, client_w))
        self._pipes.add(task)
        task.add_done_callback(self._pipes.discard)


@contextlib.asynccontextmanager
async def round_robin(backends: list[int]) -> AsyncIterator[tuple[RoundRobin, str]]:
    """Serve a balancer over `backends` (ports on 127.0.0.1); yield it and its base URL."""
    balancer = RoundRobin(backends)
    server = await asyncio.start_server(balancer._track, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield balancer, f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in list(balancer._pipes):
            task.cancel()
        await asyncio.gather(*balancer._pipes, return_exceptions=True)
        await asyncio.wait_for(server.wait_closed(), 10)


async def _splice(
    client_r: asyncio.StreamReader,
    client_w: asyncio.StreamWriter,
    server_r: asyncio.StreamReader,
    server_w: asyncio.StreamWriter,
) -> None:
    """Copy both ways; when either side ends, end the other."""
    copies = [
        asyncio.create_task(_copy(client_r, server_w)),
        asyncio.create_task(_copy(server_r, client_w)),
    ]
    try:
        await asyncio.wait(copies, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in copies:
            task.cancel()
        await asyncio.gather(*copies, return_exceptions=True)
        for writer in (client_w, server_w):
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()

"""Many live-stream viewers in one process, for bench_sse: who got which figure of a watched scope, when.

    python -m bench.sse_clients URL VIEWERS SECONDS SCOPE_CODE OUT.json

Each viewer holds `/v1/stream?scope=national&members=true` (the national page of the dashboard)
on its own connection, reads every event as a browser would, and notes the time the value
of `handover.waiting_now` and the `as_of` (when the hub computed it) of each event of the scope
whose code is SCOPE_CODE. Written on bare
asyncio streams (chunked transfer decoding and all): a thousand viewers through an HTTP client
library would cost more CPU than the hub serving them.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

PATH = "/v1/stream?scope=national&members=true"
WAITING = re.compile(rb'"handover\.waiting_now":\{"unit":"count","value":(\d+)')
AS_OF = re.compile(rb'"as_of":"([^"]+)"')


class Viewer:
    def __init__(self) -> None:
        self.connected = False
        self.events = 0
        self.seen: list[tuple[float, int, float]] = []  # read at, value, computed at
        self.error: str | None = None


async def _view(host: str, port: int, code: bytes, until: float, viewer: Viewer) -> None:
    marker = b'"code":"' + code + b'"'
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        viewer.error = type(exc).__name__
        return
    writer.write(
        f"GET {PATH} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            viewer.error = head.split(b"\r\n", 1)[0].decode()
            return
        viewer.connected = True
        while time.time() < until:
            timeout = max(0.1, until - time.time())
            size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout)
            size = int(size_line.strip(), 16)
            chunk = await reader.readexactly(size + 2)
            viewer.events += 1
            if marker in chunk[:300]:
                found, as_of = WAITING.search(chunk), AS_OF.search(chunk)
                if found and as_of:
                    computed = datetime.fromisoformat(as_of.group(1).decode()).timestamp()
                    viewer.seen.append((time.time(), int(found.group(1)), computed))
    except TimeoutError:
        pass
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        viewer.error = type(exc).__name__
    finally:
        writer.close()


async def run(base: str, viewers: int, seconds: float, code: str) -> dict[str, Any]:
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    until = time.time() + seconds
    all_viewers = [Viewer() for _ in range(viewers)]
    tasks = []
    for i, viewer in enumerate(all_viewers):
        tasks.append(asyncio.create_task(_view(host, port, code.encode(), until, viewer)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # open them over a moment, as screens would, not all at once
    await asyncio.gather(*tasks)
    errors = [v.error for v in all_viewers if v.error]
    return {
        "viewers": viewers,
        "connected": sum(v.connected for v in all_viewers),
        "events": sum(v.events for v in all_viewers),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "seen": [v.seen for v in all_viewers],
    }


def main(argv: list[str]) -> int:
    base, viewers, seconds, code, out = argv
    result = asyncio.run(run(base, int(viewers), float(seconds), code))
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

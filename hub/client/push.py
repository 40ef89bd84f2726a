"""`hub push FEED FILE…`: a trust's upload, in batches, with retries, progress and a summary.

Batches go one at a time and in file order, so two versions of one record in
a file are applied in the order the file gives them. A batch the hub could
not take (503, or no answer) is sent again with backoff by `HubClient`; that
is safe because a record identical to the one the hub holds changes nothing.
The exit status is 0 when every record was accepted, 1 when any record was
rejected or any file could not be sent in full, and 2 when the hub refused
the upload outright (bad token, feed not allowed) or a file could not be read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from hub.client.batches import Batch, FileUnreadable, batches, format_of
from hub.client.http import HubClient, HubClientError
from hub.domain.feeds import FEEDS

FATAL = {401, 403, 404, 415}  # every later batch would be refused the same way


class PushRefused(Exception):
    """The hub refused the upload as a whole (bad token, feed not allowed, unknown feed)."""


@dataclass(frozen=True, slots=True)
class FileRejection:
    """A rejected record, placed in its file."""

    index: int  # 0-based record number in the file
    line: int
    key: str | None
    errors: tuple[tuple[str, str], ...]


@dataclass
class FileResult:
    """What happened to one file."""

    path: Path
    records: int = 0
    accepted: int = 0
    unchanged: int = 0
    rejected: list[FileRejection] = field(default_factory=list)
    unlisted: int = 0  # rejected records a receipt counted without listing (`rejected_more`)
    failure: str | None = None  # why the file was not sent in full

    @property
    def rejected_count(self) -> int:
        return len(self.rejected) + self.unlisted

    def add(self, batch: Batch, receipt: dict[str, Any]) -> None:
        """Count a batch's receipt, mapping each rejection back to its file line."""
        self.records += receipt["received"]
        self.accepted += receipt["accepted"]
        self.unchanged += receipt["unchanged"]
        self.unlisted += receipt.get("rejected_more", {}).get("records", 0)
        for r in receipt["rejected"]:
            i = r["index"]
            self.rejected.append(
                FileRejection(
                    batch.first_index + i,
                    batch.lines[i] if 0 <= i < len(batch.lines) else 0,
                    r.get("key"),
                    tuple((e["field"], e["message"]) for e in r["errors"]),
                )
            )


Progressed = Callable[[int], None]  # bytes of the file read so far


async def push_file(
    client: HubClient, feed: str, path: Path, fmt: str, size: int, progressed: Progressed
) -> FileResult:
    """Send one file in batches; return its tally. Raise PushRefused if the hub refuses us."""
    result = FileResult(path)
    try:
        for batch in batches(path, fmt, size):
            try:
                receipt = await client.submit(feed, batch.body, batch.content_type)
            except HubClientError as exc:
                if exc.status in FATAL:
                    raise PushRefused(f"the hub refused the upload ({exc})") from exc
                first = batch.lines[0] if batch.lines else 0
                result.failure = f"stopped at line {first}: {exc}"
                return result
            result.add(batch, receipt)
            progressed(batch.file_bytes_read)
    except FileUnreadable as exc:
        result.failure = str(exc)
    return result


async def push(
    url: str,
    token: str,
    feed: str,
    paths: Sequence[Path],
    fmt: str | None = None,
    size: int = 1000,
    console: Console | None = None,
) -> list[FileResult]:
    """Push every file, showing a progress bar on `console`; return each file's result."""
    if feed not in FEEDS:
        raise PushRefused(f"unknown feed {feed!r}; feeds are {', '.join(FEEDS)}")
    formats = {path: format_of(path, fmt) for path in paths}
    console = console or Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    results = []
    with Progress(*columns, console=console) as bar:

        def notice(text: str) -> None:
            bar.console.print(f"[yellow]{escape(text)}")

        async with HubClient(url, token, on_retry=notice) as client:
            for path in paths:
                task = bar.add_task(escape(path.name), total=path.stat().st_size)

                def progressed(done: int, task: Any = task) -> None:
                    bar.update(task, completed=done)

                results.append(await push_file(client, feed, path, formats[path], size, progressed))
    return results


def exit_code(results: Sequence[FileResult]) -> int:
    """Return 0 if everything was accepted, else 1."""
    return 1 if any(r.rejected_count or r.failure for r in results) else 0


def summarise(results: Sequence[FileResult], console: Console, show: int = 50) -> None:
    """Print each file's tally, then the rejected records with their lines and reasons."""
    table = Table("file", "records", "accepted", "unchanged", "rejected", title="hub push")
    for r in results:
        table.add_row(
            escape(str(r.path)),
            str(r.records),
            str(r.accepted),
            str(r.unchanged),
            str(r.rejected_count),
        )
    console.print(table)
    for r in results:
        if r.failure:
            console.print(f"[red]{escape(str(r.path))}: not sent in full: {escape(r.failure)}")
    shown = 0
    for r in results:
        for rej in r.rejected:
            if shown == show:
                break
            shown += 1
            key = f" ({escape(rej.key)})" if rej.key else ""
            reasons = "; ".join(f"{f or 'record'}: {m}" for f, m in rej.errors)
            console.print(
                f"{escape(str(r.path))}:{rej.line}{key} {escape(reasons)}", soft_wrap=True
            )
    total = sum(r.rejected_count for r in results)
    if total > shown:
        console.print(
            f"… and {total - shown} more rejected records (GET /v1/rejections lists them)"
        )


def run(
    url: str,
    token: str,
    feed: str,
    paths: Sequence[Path],
    fmt: str | None = None,
    size: int = 1000,
    show: int = 50,
) -> int:
    """Push the files, print the summary, and return the exit status (2: refused outright)."""
    err = Console(stderr=True)
    try:
        results = asyncio.run(push(url, token, feed, paths, fmt, size, err))
    except (PushRefused, FileUnreadable) as exc:
        err.print(f"[red]hub push: {escape(str(exc))}")
        return 2
    summarise(results, Console(), show)
    return exit_code(results)

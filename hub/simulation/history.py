"""Simulated history written straight to the feed topics, as if the hub had received it then.

`hub up --history-days N` shows forecasts with measured accuracy and SPC on weeks of data
from the first minute. The ingest API cannot take those weeks: it judges each record at
the moment it arrives, and refuses events over 7 days old (SPEC §3). So the days before
now are validated here, each against the instant it would have been received (its
simulated due time), and written to the feed topics as signed envelopes — the form the
API writes — carrying that instant. Workers apply them as they would the API's, so
freshness, the outage record and every window see weeks of ordinary operation, and
`hub rebuild` replays them like any other record. A record the rules refuse is counted
and left out, as the API would have refused it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from hub.domain.feeds import FEEDS
from hub.domain.orgs import ReferenceData
from hub.domain.validation import Invalid, entity_key, to_canonical, validate
from hub.ports import AcceptedRecord, RecordSink
from hub.simulation.push import Push

log = logging.getLogger(__name__)

BATCH = 2_000  # envelopes per produce: about 1 MB, well inside the producer's limits
HISTORY_WRITTEN = "history-written"  # `hub up` starts its workers once this file appears


class HistoryWriter:
    """Validate simulated pushes at their due time and publish them as accepted then."""

    def __init__(
        self, ref: ReferenceData, sink: RecordSink, run_id: str, written: Path | None = None
    ) -> None:
        self._ref = ref
        self._sink = sink
        self._run_id = run_id
        self._written = written
        self._batches = 0
        self._day = ""  # the last simulated day said to be written, so each is said once
        self._written_so_far = 0
        self.rejected = 0

    def finished(self, accepted: int) -> None:
        """Say the history is written (in the log, and by creating the `written` file if given)."""
        log.info("history written: %s records accepted, %s refused", accepted, self.rejected)
        if self._written is not None:
            self._written.write_text(f"{accepted}\n", encoding="utf-8")

    async def write(self, pushes: Sequence[Push]) -> int:
        """Publish the pushes (in due order) and return how many were accepted."""
        accepted: list[AcceptedRecord] = []
        for push in sorted(pushes, key=lambda p: p.due_ms):
            record = self.accept(push, len(accepted))
            if record is not None:
                accepted.append(record)
        for i in range(0, len(accepted), BATCH):
            await self._sink.publish(accepted[i : i + BATCH])
        self._batches += 1
        self._written_so_far += len(accepted)
        if accepted and (day := accepted[-1].received_at.date().isoformat()) != self._day:
            self._day = day
            log.info("history: written to %s, %s records", day, self._written_so_far)
        return len(accepted)

    def accept(self, push: Push, index: int) -> AcceptedRecord | None:
        """Return the push as the API would have accepted it at its due time, or None."""
        feed = FEEDS[push.feed]
        received = datetime.fromtimestamp(push.due_ms / 1000, tz=UTC)
        record = validate(feed, push.record, ref=self._ref, received_at=received,
                          submitter_org=push.org)  # fmt: skip
        if isinstance(record, Invalid):
            self.rejected += 1
            if self.rejected <= 3:
                log.warning("history: %s from %s refused: %s", push.feed, push.org, record.errors)
            return None
        # One submission per flush, in due order: versions of an entity keep their order.
        submission = f"hist_{self._run_id}_{self._batches:07d}"
        return AcceptedRecord(
            feed, entity_key(feed, record), to_canonical(feed, record), received, push.org,
            submission, index,
        )  # fmt: skip

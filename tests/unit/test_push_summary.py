"""`hub push` counts every rejected record, also those a receipt counts without listing them."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from hub.client.batches import Batch
from hub.client.push import FileResult, exit_code, summarise


def test_rejections_a_receipt_only_counts_are_in_the_tally_and_the_exit_status() -> None:
    batch = Batch(b"", "application/json", first_index=0, lines=list(range(2, 3_002)),
                  file_bytes_read=0)  # fmt: skip
    receipt = {
        "received": 3_000,
        "accepted": 0,
        "unchanged": 0,
        "rejected": [{"index": 0, "errors": [{"field": "site", "message": "site is required"}]}],
        "rejected_more": {"records": 2_999, "by_field": []},
    }
    result = FileResult(Path("h.json"))
    result.add(batch, receipt)
    assert (result.rejected_count, len(result.rejected)) == (3_000, 1)
    assert result.records == result.accepted + result.rejected_count
    assert exit_code([result]) == 1
    out = io.StringIO()
    summarise([result], Console(file=out, width=200))
    assert "… and 2999 more rejected records" in out.getvalue()

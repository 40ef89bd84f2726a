"""Caps on what the hub echoes back: every answer, receipt and dead letter has a largest size.

Bad input can be as large as the body limit allows, and a message that quotes it in full
(every unknown column of a 200,000-column header, every error of a record with 20,000
unknown fields) would cost more than the input did. So whatever quotes input quotes the
first few items in full and counts the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

TEXT_CHARS = 512  # one message, one field name, one key as echoed
NAMES_LISTED = 10  # names quoted in one message ("unknown columns a, b, … and 9 more")
NAME_CHARS = 64


def clip(text: str, limit: int = TEXT_CHARS) -> str:
    """Return `text`, cut to at most `limit` characters (the cut marked with an ellipsis)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def listing(names: Sequence[str], limit: int = NAMES_LISTED) -> str:
    """Return the first `limit` names, quoted and clipped, and how many more there are.

    >>> listing(["a", "b", "c"], 2)
    "'a', 'b' and 1 more"
    """
    shown = ", ".join(repr(clip(n, NAME_CHARS)) for n in names[:limit])
    rest = len(names) - limit
    return f"{shown} and {rest:,} more" if rest > 0 else shown


MAX_BODY_RECORDS = 250_000  # records one ingest request may hold (`HUB_MAX_BODY_RECORDS`)

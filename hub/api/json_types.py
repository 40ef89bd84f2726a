"""JSON as the API writes it: a recursive type, so mypy checks that every body is plain JSON.

Mappings and sequences (not dict and list) so that a `dict[str, int]` or a `list[float]`
is JSON as it stands: their element types are read-only, hence covariant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

JsonValue: TypeAlias = (
    "bool | int | float | str | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
)
JsonObject: TypeAlias = dict[str, JsonValue]
JsonMap: TypeAlias = Mapping[str, JsonValue]  # read only: a dict of any JSON values fits


def node(doc: JsonObject, *path: str) -> JsonObject:
    """Return the object at `path` in a document being built, to add to it."""
    for key in path:
        child = doc[key]
        if not isinstance(child, dict):
            raise TypeError(f"{key!r} is not an object in the document being built")
        doc = child
    return doc

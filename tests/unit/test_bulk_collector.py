"""A bulk job collects garbage rarely while it runs, and leaves the interpreter as it was."""

from __future__ import annotations

import gc

import pytest

from streams.bulk.collector import YOUNG, rare_collections


def test_collections_are_rarer_inside_and_as_before_after_even_on_an_error() -> None:
    gc.unfreeze()  # as in `hub rebuild`, which freezes nothing before
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), rare_collections():
        assert gc.get_threshold()[0] == YOUNG > before[0]
        assert gc.get_freeze_count() > 0  # what lived before is out of the passes
        raise RuntimeError("a job that fails")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0

"""The quantile sketch behind the p90 metrics: nearest rank within 1% (SPEC §4), merge and retract."""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.sketch import (
    RELATIVE_ACCURACY,
    ZERO_BUCKET,
    Grouped,
    bucket_of,
    bucket_value,
    counts_of,
    merge,
    nearest_rank,
)

QUANTILES = ["0.5", "0.9", "0.95", "0.99", "1"]  # as text, so the exact rank uses exact arithmetic

seconds = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.001, max_value=100_000, allow_nan=False, allow_infinity=False),
)


def sketch(values: list[float]) -> dict[str, int]:
    return dict(Counter(bucket_of(v) for v in values))


def exact_nearest_rank(values: list[float], quantile: str) -> float:
    rank = max(1, math.ceil(Fraction(quantile) * len(values)))
    return sorted(values)[rank - 1]


def representative(value: float) -> float:
    return bucket_value(bucket_of(value))


# --- buckets ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.0, 1e-9, 0.000999])
def test_a_value_below_a_millisecond_counts_as_zero(value: float) -> None:
    assert bucket_of(value) == ZERO_BUCKET
    assert bucket_value(ZERO_BUCKET) == 0.0


@given(st.floats(min_value=0.001, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_a_bucket_stands_for_its_values_within_1_percent(value: float) -> None:
    assert abs(representative(value) - value) <= RELATIVE_ACCURACY * value


@given(st.integers(min_value=-300, max_value=1500))
def test_a_buckets_own_value_falls_in_that_bucket(key: int) -> None:
    assert bucket_of(bucket_value(str(key))) == str(key)


def test_a_larger_value_never_falls_in_a_lower_bucket() -> None:
    values = [0.0, 0.001, 0.5, 1.0, 7.0, 59.9, 60.0, 420.0, 1080.0, 3600.0, 86_400.0]
    keys = [-math.inf if bucket_of(v) == ZERO_BUCKET else int(bucket_of(v)) for v in values]
    assert keys == sorted(keys)


# --- nearest rank -------------------------------------------------------------------------

TEN = [representative(v) for v in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)]


@pytest.mark.parametrize(
    ("values", "quantile", "expected"),
    [
        (TEN, 0.9, TEN[8]),  # ⌈0.9 × 10⌉ = 9th
        (TEN, 0.5, TEN[4]),  # ⌈0.5 × 10⌉ = 5th
        (TEN, 0.91, TEN[9]),  # ⌈9.1⌉ = 10th
        (TEN, 1.0, TEN[9]),
        (TEN, 0.0, TEN[0]),  # rank at least 1
        (TEN[:1], 0.9, TEN[0]),
        (TEN * 3, 0.9, TEN[8]),  # ⌈27⌉ = 27th of 30: exactly, not the 28th
        ([TEN[2]] * 7 + [TEN[9]] * 3, 0.7, TEN[2]),
        ([TEN[2]] * 7 + [TEN[9]] * 3, 0.71, TEN[9]),
        ([0.0] * 9 + [TEN[4]], 0.9, 0.0),  # the zero bucket ranks first
        ([0.0] * 9 + [TEN[4]], 1.0, TEN[4]),
    ],
)
def test_nearest_rank_is_exact_on_values_that_are_bucket_values(
    values: list[float], quantile: float, expected: float
) -> None:
    assert nearest_rank(sketch(values), quantile) == expected


@pytest.mark.parametrize(
    "counts",
    [{}, {bucket_of(42.0): 0}, {bucket_of(42.0): 0, ZERO_BUCKET: 0}],
)
def test_an_empty_sketch_has_no_quantile(counts: dict[str, int]) -> None:
    assert nearest_rank(counts, 0.9) is None


@given(st.lists(seconds, min_size=1, max_size=400), st.sampled_from(QUANTILES))
def test_nearest_rank_is_within_1_percent_of_the_exact_nearest_rank(
    values: list[float], quantile: str
) -> None:
    exact = exact_nearest_rank(values, quantile)
    estimate = nearest_rank(sketch(values), float(quantile))
    assert estimate is not None
    if exact < 0.001:
        assert estimate == 0.0
    else:
        assert abs(estimate - exact) <= RELATIVE_ACCURACY * exact


@pytest.mark.parametrize("n", [10, 30, 100, 1_000, 10_000, 1_000_003])
def test_the_90th_centile_of_n_equal_values_needs_no_more_than_n_of_them(n: int) -> None:
    # Float rounding of 0.9 × n must not push the rank past an exact ⌈0.9n⌉.
    rank = math.ceil(Fraction(9, 10) * n)
    counts = {bucket_of(1.0): rank, bucket_of(1000.0): n - rank}
    assert nearest_rank(counts, 0.9) == representative(1.0)


# --- merge and retract --------------------------------------------------------------------


@given(st.lists(st.lists(seconds, max_size=50), max_size=6), st.sampled_from(QUANTILES))
def test_merged_sketches_equal_the_sketch_of_all_their_values(
    parts: list[list[float]], quantile: str
) -> None:
    merged = merge(sketch(p) for p in parts)
    everything = [v for p in parts for v in p]
    assert merged == sketch(everything)
    assert nearest_rank(merged, float(quantile)) == nearest_rank(
        sketch(everything), float(quantile)
    )


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([], {}),
        ([{"5": 1}], {"5": 1}),
        ([{"5": 1, "z": 2}, {"5": 3, "7": 1}], {"5": 4, "z": 2, "7": 1}),
        ([{"5": 1, "7": 2}, {"5": -1}], {"5": 0, "7": 2}),  # a retracted version
    ],
)
def test_merging_adds_bucket_counts(parts: list[dict[str, int]], expected: dict[str, int]) -> None:
    assert merge(parts) == expected


def test_a_retracted_value_no_longer_counts() -> None:
    before = sketch([10.0, 20.0, 5000.0])
    corrected = merge([before, {bucket_of(5000.0): -1}, {bucket_of(30.0): 1}])
    assert nearest_rank(corrected, 1.0) == representative(30.0)
    assert nearest_rank(merge([before, {b: -c for b, c in before.items()}]), 0.9) is None


names = st.text(alphabet="abc.1z", min_size=1, max_size=8)
prefixes = st.sampled_from(["a.", "a.b.", "inc.c1.sk.", "edf.ttt.", "b."])


@given(
    st.dictionaries(st.one_of(names, prefixes.flatmap(lambda p: names.map(lambda n: p + n))),
                    st.integers(-5, 50)),
    prefixes,
)  # fmt: skip
def test_grouped_counters_give_each_sketch_what_a_scan_by_prefix_gives(
    counters: dict[str, int], prefix: str
) -> None:
    scanned = counts_of(counters, prefix)
    assert counts_of(Grouped(counters), prefix) == {
        bucket: n
        for bucket, n in scanned.items()
        if "." not in bucket  # buckets have no dot
    }

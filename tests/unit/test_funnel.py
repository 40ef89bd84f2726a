"""Funnel limits (Spiegelhalter 2005, additive over-dispersion) match values worked by hand."""

from __future__ import annotations

import math

import pytest

from hub.domain.funnel import Unit, fit, quantile7

# Five trusts, worked by hand (arcsine scale; see the comments for each step):
#   pooled p = 870 / 1250 = 0.696, θ = asin(√0.696) = 0.98680046
#   z = (asin(√p) − θ)·2√n:  A 5.2449063, B 1.7082878, C 5.3821379, D −8.0560917, E −1.4244430
#   10th/90th centiles (type 7, h = 0.4 and 3.6): −5.4034322 and 5.3272453
#   winsorised z² mean φ = 18.00659; I·φ = 90.03 > I − 1 = 4, so
#   w = 4n: Σw = 5000, Σw² = 7,400,000; τ² = (90.033 − 4) / (5000 − 1480) = 0.024441179
UNITS = [
    Unit("A", 90, 100),
    Unit("B", 150, 200),
    Unit("C", 400, 500),
    Unit("D", 200, 400),
    Unit("E", 30, 50),
]
# lower95, upper95, lower998, upper998 = sin²(θ ∓ z·√(1/(4n) + τ²)), and the adjusted z
BY_HAND = {
    "A": (0.3808557, 0.9327662, 0.2128935, 0.9941176, 1.5977155),
    "B": (0.3882032, 0.9289347, 0.2227220, 0.9921566, 0.3768114),
    "C": (0.3927104, 0.9265426, 0.2288121, 0.9908195, 0.7620463),
    "D": (0.3919539, 0.9269463, 0.2277868, 0.9910510, -1.2720973),
    "E": (0.3667337, 0.9398908, 0.1943642, 0.9971126, -0.5870194),
}


# Unadjusted 99.8% limits (τ² = 0): sin²(θ ∓ 3.0902323 / (2√n)); A, C and D fall outside.
UNADJUSTED = {
    "A": (0.546822, 0.8266094, "above"),
    "B": (0.5916254, 0.7910533, "within"),
    "C": (0.6307641, 0.7574984, "above"),
    "D": (0.6228748, 0.7644552, "below"),
    "E": (0.4828932, 0.8722646, "within"),
}


def test_type_7_quantiles_interpolate_between_order_statistics() -> None:
    assert quantile7([1, 2, 3, 4, 5], 0.1) == pytest.approx(1.4)
    assert quantile7([1, 2, 3, 4, 5], 0.9) == pytest.approx(4.6)
    assert quantile7([7], 0.9) == 7


def test_an_over_dispersed_funnel_has_the_hand_worked_target_phi_tau2_and_limits() -> None:
    funnel = fit(UNITS)
    assert funnel.target == pytest.approx(0.696)
    assert funnel.phi == pytest.approx(18.006590, rel=1e-6)
    assert funnel.tau2 == pytest.approx(0.024441179, rel=1e-6)
    for placed in funnel.units:
        lo95, hi95, lo998, hi998, z = BY_HAND[placed.unit.code]
        lim = placed.limits
        assert (lim.lower95, lim.upper95) == (
            pytest.approx(lo95, abs=1e-6),
            pytest.approx(hi95, abs=1e-6),
        )
        assert (lim.lower998, lim.upper998) == (
            pytest.approx(lo998, abs=1e-6),
            pytest.approx(hi998, abs=1e-6),
        )
        assert placed.z == pytest.approx(z, abs=1e-6)
        assert placed.flag == "within"  # over-dispersion absorbs the spread between trusts


def test_a_unit_beyond_the_unadjusted_limits_but_within_the_adjusted_ones_is_marked() -> None:
    funnel = fit(UNITS)
    for placed in funnel.units:
        lo, hi, flag = UNADJUSTED[placed.unit.code]
        assert placed.unadjusted is not None
        assert (placed.unadjusted.lower998, placed.unadjusted.upper998) == (
            pytest.approx(lo, abs=1e-6),
            pytest.approx(hi, abs=1e-6),
        )
        assert placed.flag_unadjusted == flag
        assert placed.marked == (flag != "within"), placed.unit.code
    plain = funnel.limits_at(100, adjusted=False)
    assert plain is not None and plain.upper998 == pytest.approx(0.8266094, abs=1e-6)


def test_without_over_dispersion_tau2_is_zero_and_limits_are_binomial_on_the_arcsine_scale() -> (
    None
):
    funnel = fit([Unit("A", 50, 100), Unit("B", 52, 100), Unit("C", 48, 100)])
    assert funnel.target == pytest.approx(0.5)
    assert funnel.tau2 == 0.0
    # θ = π/4; s = 1/(2·10) = 0.05; upper95 = sin²(π/4 + 1.959964 × 0.05)
    lim = funnel.units[0].limits
    assert lim.upper95 == pytest.approx(math.sin(math.pi / 4 + 0.0979982) ** 2, abs=1e-6)
    assert lim.lower998 == pytest.approx(math.sin(math.pi / 4 - 0.1545116) ** 2, abs=1e-6)


def test_an_outlier_among_steady_peers_is_flagged_above_and_the_rest_within() -> None:
    peers = [Unit(f"P{i}", 500 + (i % 3) - 1, 1000) for i in range(12)]
    funnel = fit([*peers, Unit("HIGH", 700, 1000)])
    flags = {p.unit.code: p.flag for p in funnel.units}
    assert flags.pop("HIGH") == "above"
    assert set(flags.values()) == {"within"}


def test_units_without_a_denominator_are_left_out_and_none_gives_no_target() -> None:
    assert fit([Unit("A", 0, 0)]).target is None
    funnel = fit([Unit("A", 0, 0), Unit("B", 5, 10)])
    assert [p.unit.code for p in funnel.units] == ["B"]
    assert funnel.limits_at(40) is not None
    assert funnel.limits_at(0) is None

"""Funnel plots for proportions with additive over-dispersion, as NHS-R FunnelPlotR draws them.

Comparing organisations by funnel plot, not league table: each unit's
proportion is set against limits that widen as its denominator shrinks, so a
small trust is not flagged for noise. The method, step by step:

- Limits on the arcsine square-root scale, as FunnelPlotR computes them for
  proportions (`data_type = "PR"`, Mainey et al., NHS-R Community): the target is
  the pooled proportion p̄ = Σ numerators / Σ denominators, θ = asin(√p̄), and a unit
  of denominator n has Y = asin(√p) with standard error s = 1/(2√n)
  (Spiegelhalter DJ. Funnel plots for comparing institutional performance.
  Statistics in Medicine 2005; 24(8): 1185–1202, doi:10.1002/sim.1970).
- Over-dispersion (Spiegelhalter DJ. Handling over-dispersion of performance
  indicators. Quality and Safety in Health Care 2005; 14(5): 347–351,
  doi:10.1136/qshc.2005.013755): unadjusted z = (Y − θ)/s, winsorised at their
  10th and 90th centiles (type 7 quantiles, FunnelPlotR's default `trim_by = 0.1`);
  φ = mean of the winsorised z²; when I·φ > I − 1 the between-unit variance is
  the DerSimonian–Laird estimate τ² = (I·φ − (I − 1)) / (Σw − Σw²/Σw), w = 1/s²
  (DerSimonian R, Laird N. Controlled Clinical Trials 1986; 7: 177–188), else 0.
- Limits θ ± z_α·√(s² + τ²) (additive random effects), back-transformed with
  sin²; z_α = 1.96 (95%) and 3.09 (99.8%). The unadjusted limits are the same
  with τ² = 0. Both are returned: with strong over-dispersion (φ ≫ 1) the
  adjusted limits widen until almost nothing is an outlier, so a unit beyond
  the unadjusted 99.8% limits but within the adjusted ones is marked, not hidden.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95%
Z998 = 3.090232306167813  # two-sided 99.8%
WINSOR = (0.10, 0.90)


@dataclass(frozen=True, slots=True)
class Unit:
    """One organisation's numerator and denominator."""

    code: str
    numerator: int
    denominator: int


@dataclass(frozen=True, slots=True)
class Limits:
    """A proportion's 95% and 99.8% control limits at one denominator (0–1 scale)."""

    lower95: float
    upper95: float
    lower998: float
    upper998: float


@dataclass(frozen=True, slots=True)
class Placed:
    """A unit on the funnel: its proportion, z, both sets of limits and where it falls."""

    unit: Unit
    proportion: float
    z: float  # against the adjusted limits
    limits: Limits  # adjusted for over-dispersion (τ²)
    flag: str  # "above" | "below" | "within" the adjusted 99.8% limits
    unadjusted: Limits | None = None  # τ² = 0
    flag_unadjusted: str = "within"  # against the unadjusted 99.8% limits

    @property
    def marked(self) -> bool:
        """Say whether it is beyond the unadjusted 99.8% limits but within the adjusted ones."""
        return self.flag == "within" and self.flag_unadjusted != "within"


@dataclass(frozen=True, slots=True)
class Funnel:
    """A fitted funnel: target, over-dispersion and every unit placed on it."""

    target: float | None
    phi: float | None
    tau2: float
    units: tuple[Placed, ...]

    def limits_at(self, denominator: int, adjusted: bool = True) -> Limits | None:
        """Return the limits (adjusted for over-dispersion, or not) at any denominator."""
        if self.target is None or denominator <= 0:
            return None
        return limits(self.target, denominator, self.tau2 if adjusted else 0.0)


def quantile7(values: Sequence[float], q: float) -> float:
    """Return the q-quantile by linear interpolation between order statistics (R type 7)."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def _y(p: float) -> float:
    return math.asin(math.sqrt(p))


def _back(y: float) -> float:
    return math.sin(min(max(y, 0.0), math.pi / 2)) ** 2


def limits(target: float, n: int, tau2: float) -> Limits:
    """Return the control limits at denominator `n` around `target`, widened by τ²."""
    theta = _y(target)
    sd = math.sqrt(1 / (4 * n) + tau2)
    return Limits(
        lower95=_back(theta - Z95 * sd),
        upper95=_back(theta + Z95 * sd),
        lower998=_back(theta - Z998 * sd),
        upper998=_back(theta + Z998 * sd),
    )


def overdispersion(zs: Sequence[float], ns: Sequence[int]) -> tuple[float, float]:
    """Return (φ, τ²) from unadjusted z-scores and denominators; τ² = 0 without over-dispersion."""
    count = len(zs)
    lo, hi = quantile7(zs, WINSOR[0]), quantile7(zs, WINSOR[1])
    phi = sum(min(max(z, lo), hi) ** 2 for z in zs) / count
    if count * phi <= count - 1:
        return phi, 0.0
    w = [4.0 * n for n in ns]  # w = 1/s², s = 1/(2√n)
    sw = sum(w)
    return phi, (count * phi - (count - 1)) / (sw - sum(x * x for x in w) / sw)


def fit(units: Sequence[Unit]) -> Funnel:
    """Place every unit with a denominator on a funnel around the pooled proportion."""
    used = [u for u in units if u.denominator > 0]
    if not used:
        return Funnel(None, None, 0.0, ())
    target = sum(u.numerator for u in used) / sum(u.denominator for u in used)
    theta = _y(target)
    raw = [(_y(u.numerator / u.denominator) - theta) * 2 * math.sqrt(u.denominator) for u in used]
    phi, tau2 = (None, 0.0) if len(used) < 2 else overdispersion(raw, [u.denominator for u in used])
    placed = []
    for u in used:
        p = u.numerator / u.denominator
        z = (_y(p) - theta) / math.sqrt(1 / (4 * u.denominator) + tau2)
        lim = limits(target, u.denominator, tau2)
        plain = limits(target, u.denominator, 0.0)
        placed.append(Placed(u, p, z, lim, _flag(p, lim), plain, _flag(p, plain)))
    return Funnel(target, phi, tau2, tuple(placed))


def _flag(p: float, lim: Limits) -> str:
    return "above" if p > lim.upper998 else "below" if p < lim.lower998 else "within"

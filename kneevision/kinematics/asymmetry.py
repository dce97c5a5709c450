"""Left–right comparison: limb symmetry index and differences against measurement error."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

#: Minimal detectable change (or smallest detectable difference) used to decide
#: whether a left–right difference is real, with its source. We take the upper
#: end of each published range so that a flag means "beyond measurement error".
MDC: dict[str, tuple[float, str]] = {
    "fppa_deg": (8.9, "Munro et al. 2012: FPPA smallest detectable difference 7.5–8.9°"),
    "tibial_rotation_deg": (
        3.8,
        "goniometric tibial rotation minimal detectable change 2.5–3.8° (design brief §2)",
    ),
    "knee_flexion_deg": (5.0, "typical 2-D sagittal knee angle MDC ≈ 5° (conservative)"),
}


@dataclass(frozen=True)
class Asymmetry:
    """Left versus right for one metric.

    Attributes
    ----------
    left, right : float
    difference : float
        ``left − right``.
    lsi : float
        Limb symmetry index, ``100·min/max`` of the magnitudes (100 = symmetric).
    mdc : float or None
        Minimal detectable change used; None when unknown.
    exceeds_mdc : bool or None
        ``|difference| > mdc``; None when no MDC is known or a side is missing.
    """

    left: float
    right: float
    difference: float
    lsi: float
    mdc: float | None
    exceeds_mdc: bool | None

    def to_dict(self) -> dict:
        """Plain-dict form for JSON (NaN becomes None)."""
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in asdict(self).items()
        }


def limb_symmetry_index(left: float, right: float) -> float:
    """LSI = 100·min(|L|, |R|) / max(|L|, |R|); NaN if either is missing or both are 0."""
    a, b = abs(left), abs(right)
    if not (math.isfinite(a) and math.isfinite(b)) or max(a, b) == 0:
        return math.nan
    return 100.0 * min(a, b) / max(a, b)


def compare_sides(left: float, right: float, mdc: float | None = None) -> Asymmetry:
    """Compare one metric between sides.

    Parameters
    ----------
    left, right : float
        The metric per side (NaN when a side was not measured).
    mdc : float, optional
        Minimal detectable change in the metric's unit.
    """
    left, right = float(left), float(right)
    diff = left - right
    exceeds = None
    if mdc is not None and math.isfinite(diff):
        exceeds = bool(abs(diff) > mdc)
    return Asymmetry(
        left=left,
        right=right,
        difference=diff,
        lsi=limb_symmetry_index(left, right),
        mdc=mdc,
        exceeds_mdc=exceeds,
    )

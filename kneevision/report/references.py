"""Reference values from the literature, shown next to a patient's numbers (DESIGN §2).

Each entry applies to one protocol and metric; a reference is only shown where
the task measured matches the task of the study.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kneevision.summary import SideMetrics


@dataclass(frozen=True)
class Reference:
    """A published value for comparison.

    Attributes
    ----------
    text : str
        What to print beside the patient's value.
    low, high : float or None
        A band to draw on plots (healthy mean ± 1 SD), when there is one.
    source : str
        Citation.
    """

    text: str
    low: float | None
    high: float | None
    source: str


HERRINGTON_2014 = Reference(
    "healthy 8.4 ± 5.1°; patellofemoral pain 16.8 ± 5.4°",
    8.4 - 5.1,
    8.4 + 5.1,
    "Herrington 2014, single-leg squat FPPA",
)
MOSSBERG_1983 = "Mossberg & Smith 1983, seated active tibial rotation, healthy women"
MUNRO_2012 = "Munro et al. 2012: FPPA SEM 2.7–3.0°, smallest detectable difference 7.5–8.9°"
LSI_CONVENTION = "LSI ≥ 90% is the usual return-to-sport convention"

#: protocol → metric → reference
REFERENCES: dict[str, dict[str, Reference]] = {
    "single-leg-squat": {
        "fppa_at_peak_flexion_deg": HERRINGTON_2014,
        "peak_fppa_deg": HERRINGTON_2014,
    },
    "step-down": {
        "fppa_at_peak_flexion_deg": HERRINGTON_2014,
        "peak_fppa_deg": HERRINGTON_2014,
    },
}


def twist_reference(knee_flexion_deg: float | None) -> Reference:
    """Seated tibial rotation total range at the knee angle held (35/40/44° at 70/90/110°)."""
    import numpy as np

    flex = 90.0 if knee_flexion_deg is None else float(np.clip(knee_flexion_deg, 70, 110))
    total = float(np.interp(flex, [70, 90, 110], [35.0, 40.0, 44.0]))
    return Reference(
        f"healthy ≈ {total:.0f}° total at {flex:.0f}° knee flexion, external ≈ 2 × internal",
        None,
        None,
        MOSSBERG_1983,
    )


def reference_for(
    protocol: str, metric: str, sides: Mapping[str, SideMetrics] | None = None
) -> Reference | None:
    """The reference shown beside ``metric`` of ``protocol``, if a matching study exists.

    Parameters
    ----------
    protocol : str
        The protocol measured (``summary.protocol``).
    metric : str
        The metric's name, e.g. ``peak_fppa_deg``.
    sides : dict of str to SideMetrics, optional
        Each leg's metrics (``summary.sides``): the seated twist's reference depends on
        the knee flexion held.

    Returns
    -------
    Reference or None
        None when no study measured that task.
    """
    if protocol == "seated-twist" and metric == "total_rotation_deg":
        flex = None
        for s in ("left", "right"):
            side = (sides or {}).get(s)
            v = side.value("knee_flexion_deg") if side is not None else math.nan
            if math.isfinite(v):
                flex = v
        return twist_reference(flex)
    return REFERENCES.get(protocol, {}).get(metric)

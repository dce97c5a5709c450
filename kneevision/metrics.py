"""The metric registry: every measure's label, unit and measurement error, named once.

The protocols, the report, the command line and the store read a metric's
description here instead of parsing its name (``"fppa" in metric``).

>>> metric("peak_fppa_deg").label, metric("peak_fppa_deg").unit, metric("peak_fppa_deg").mdc
('peak FPPA', '°', 8.9)
>>> format_value("depth_pct_leg", 12.345)
'12.3%'
>>> format_value("knee_ankle_separation_ratio", None)
'–'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from kneevision.kinematics.asymmetry import MDC

#: Which way is better (None: neither; a range is judged against a reference).
HigherIs = Literal["better", "worse"] | None


@dataclass(frozen=True)
class Metric:
    """One measure.

    Attributes
    ----------
    name : str
        Key in summary.json, reps.csv, angles.csv and the database.
    label : str
        Human name (``peak FPPA``).
    unit : str
        Display unit appended to a value (``°``, ``%``, `` s``; empty for ratios).
    mdc : float, optional
        Minimal detectable change: a left–right difference beyond it is real.
    mdc_source : str, optional
        Where the MDC comes from.
    higher_is : {"better", "worse", None}
        Direction of a change, when there is one.
    digits : int
        Decimals shown.
    """

    name: str
    label: str
    unit: str = ""
    mdc: float | None = None
    mdc_source: str | None = None
    higher_is: HigherIs = None
    digits: int = 1

    def format(self, value: object) -> str:
        """A value with this metric's unit: one decimal (two for ratios), ``–`` when missing."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (int, float)):
            return f"{value:.{self.digits}f}{self.unit}"
        return str(value)


DEG, PCT, SEC = "°", "%", " s"
_FPPA, _ROT = MDC["fppa_deg"], MDC["tibial_rotation_deg"]
# No MDC for markerless knee flexion: mirroring a clip alone moved MediaPipe's per-leg
# flexion by 6.6° on average (tests/protocols/test_metamorphic.py), so the 5°
# goniometry-style guess would call camera bias a real difference.
_DEFS: tuple[tuple[str, str, str, tuple[float, str] | None, HigherIs], ...] = (
    # per-frame series
    ("knee_flexion_deg", "knee flexion", DEG, None, None),
    ("fppa_deg", "FPPA", DEG, _FPPA, "worse"),
    ("tibial_rotation_deg", "tibial rotation", DEG, _ROT, None),
    # repetitions and their timing
    ("start_s", "start", SEC, None, None),
    ("bottom_s", "bottom", SEC, None, None),
    ("end_s", "end", SEC, None, None),
    ("duration_s", "duration", SEC, None, None),
    ("descent_s", "descent", SEC, None, None),
    ("ascent_s", "ascent", SEC, None, None),
    ("hold_s", "hold", SEC, None, "better"),
    ("failed_at_s", "failed at", SEC, None, None),
    ("time_s", "time", SEC, None, None),
    # knee valgus and alignment
    ("peak_fppa_deg", "peak FPPA", DEG, _FPPA, "worse"),
    ("mean_fppa_deg", "mean FPPA", DEG, _FPPA, "worse"),
    ("fppa_at_peak_flexion_deg", "FPPA at peak flexion", DEG, _FPPA, "worse"),
    ("fppa_drift_deg", "FPPA drift", DEG, _FPPA, "worse"),
    ("knee_abduction_3d_deg", "knee abduction 3-D", DEG, None, "worse"),
    ("medial_knee_displacement_pct", "medial knee displacement", PCT, None, "worse"),
    ("knee_over_foot_medial_pct", "knee over foot medial", PCT, None, "worse"),
    ("knee_ankle_separation_ratio", "knee ankle separation", "", None, None),
    ("pelvic_drop_deg", "pelvic drop", DEG, None, "worse"),
    # depth and sway
    ("peak_knee_flexion_deg", "peak knee flexion", DEG, None, None),
    ("knee_flexion_at_peak_deg", "knee flexion at peak", DEG, None, None),
    ("standing_knee_flexion_deg", "knee flexion standing", DEG, None, None),
    ("depth_pct_leg", "depth % leg", PCT, None, None),
    ("knee_sway_pct_leg", "knee sway % leg", PCT, None, "worse"),
    ("pelvis_sway_pct_leg", "pelvis sway % leg", PCT, None, "worse"),
    ("shank_angle_deg", "shank angle", DEG, None, None),
    ("thigh_swing_deg", "thigh swing", DEG, None, None),
    ("shank_swing_deg", "shank swing", DEG, None, None),
    # seated twist (markerless and markers)
    ("internal_rotation_deg", "internal rotation", DEG, _ROT, None),
    ("external_rotation_deg", "external rotation", DEG, _ROT, None),
    ("total_rotation_deg", "total rotation", DEG, _ROT, None),
    ("neutral_deg", "neutral", DEG, None, None),
    ("fov_deg", "field of view", DEG, None, None),
    ("cycles", "twist cycles", "", None, None),
)
#: Counts, shown without decimals.
_COUNTS = {"cycles"}

#: Every registered metric by name.
REGISTRY: dict[str, Metric] = {
    name: Metric(
        name,
        label,
        unit,
        mdc[0] if mdc else None,
        mdc[1] if mdc else None,
        higher,
        2 if name.endswith("_ratio") else 0 if name in _COUNTS else 1,
    )
    for name, label, unit, mdc, higher in _DEFS
}


def metric(name: str) -> Metric:
    """The description of a metric key.

    Per-side series (``left_knee_flexion_deg``) take their base metric's entry with the
    side in the label. A name the registry lacks gets a label from its words and no unit
    or MDC (``tests/test_summary_schema.py`` checks that written summaries have none).
    """
    if name in REGISTRY:
        return REGISTRY[name]
    for side in ("left", "right"):
        base = name.removeprefix(f"{side}_")
        if base != name and base in REGISTRY:
            m = REGISTRY[base]
            return Metric(name, f"{side} {m.label}", m.unit, m.mdc, m.mdc_source, m.higher_is,
                          m.digits)  # fmt: skip
    return Metric(name, name.replace("_", " "))


def is_registered(name: str) -> bool:
    """Whether a metric key (or its base, without the side) is in the registry."""
    return name in REGISTRY or any(
        name.removeprefix(f"{s}_") in REGISTRY for s in ("left", "right")
    )


def format_value(name: str, value: object) -> str:
    """The one value formatter: ``value`` with metric ``name``'s unit and decimals."""
    return metric(name).format(value)


__all__ = ["REGISTRY", "Metric", "format_value", "is_registered", "metric"]

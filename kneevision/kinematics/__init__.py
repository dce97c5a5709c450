"""Kinematics core: pure NumPy functions on landmark arrays (no I/O, no MediaPipe).

Public contract (documented, tested, stable):
:func:`knee_flexion`, :func:`fppa`, :func:`tibial_rotation`.
"""

from kneevision.kinematics.angles import (
    angle_between,
    ankle_dorsiflexion,
    fppa,
    hip_adduction,
    knee_abduction,
    knee_ankle_separation_ratio,
    knee_flexion,
    medial_knee_displacement,
    pelvic_drop,
    tibial_rotation,
)
from kneevision.kinematics.asymmetry import MDC, Asymmetry, compare_sides, limb_symmetry_index
from kneevision.kinematics.landmarks import JOINTS, SIDES, Side, leg, other
from kneevision.kinematics.reps import Rep, segment_reps
from kneevision.kinematics.series import frame_angles
from kneevision.kinematics.signals import (
    OneEuroFilter,
    fill_gaps,
    lowpass,
    mask_low_visibility,
    valid_runs,
)

__all__ = [
    "JOINTS",
    "MDC",
    "SIDES",
    "Asymmetry",
    "OneEuroFilter",
    "Rep",
    "Side",
    "angle_between",
    "ankle_dorsiflexion",
    "compare_sides",
    "fill_gaps",
    "fppa",
    "frame_angles",
    "hip_adduction",
    "knee_abduction",
    "knee_ankle_separation_ratio",
    "knee_flexion",
    "leg",
    "limb_symmetry_index",
    "lowpass",
    "mask_low_visibility",
    "medial_knee_displacement",
    "other",
    "pelvic_drop",
    "segment_reps",
    "tibial_rotation",
    "valid_runs",
]

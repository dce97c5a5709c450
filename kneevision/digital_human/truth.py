"""Ground truth of a rendered clip, measured on the posed skeleton.

Every value here is computed from the skeleton's joint centres with the same
functions :mod:`kneevision.kinematics` applies to landmarks — never read back
from the pose parameters — so that a measured value and its truth differ only
by what the video and the pose model lost. Image-plane quantities (FPPA,
medial knee displacement, knee-to-ankle separation) are taken on the true 2-D
projections through the clip's camera, as the measurement is.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from kneevision.digital_human.body import PosedBody
from kneevision.kinematics.angles import (
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
from kneevision.kinematics.landmarks import JOINTS, SIDES, leg
from kneevision.pose.sequence import N_LANDMARKS
from kneevision.synthetic import Camera

FloatArray = NDArray[np.float64]
_SUFFIX = {"left": "L", "right": "R"}
UP = np.array([0.0, 1.0, 0.0])


def landmark_array(posed: list[PosedBody]) -> FloatArray:
    """The skeleton's points at MediaPipe's landmark indices, shape (T, 33, 3)."""
    out = np.full((len(posed), N_LANDMARKS, 3), np.nan)
    for t, p in enumerate(posed):
        for name, idx in JOINTS.items():
            for side in SIDES:
                out[t, idx[side]] = p.points[f"{name}.{_SUFFIX[side]}"]
    return out


def truth_series(posed: list[PosedBody], camera: Camera) -> dict[str, FloatArray]:
    """Per-frame true values, keyed ``<side>_<metric>`` (degrees, % or ratio).

    Metrics: ``knee_flexion_deg`` (3-D), ``fppa_deg`` (on the image, as measured),
    ``frontal_fppa_deg`` (on the body's own frontal plane), ``tibial_rotation_deg``
    (DESIGN §2: foot axis, heel→toe), ``shank_rotation_deg`` (the tibia's own front,
    what the marker mode measures), ``knee_abduction_deg``, ``hip_adduction_deg``,
    ``medial_knee_displacement_pct``, ``shank_angle_deg`` (from vertical),
    ``pelvic_drop_deg`` (with this leg as the stance leg); and
    ``knee_ankle_separation_ratio``.
    """
    world = landmark_array(posed)
    image = camera.project(world)
    anterior = np.stack([p.frames["pelvis"][:, 2] for p in posed])
    out: dict[str, FloatArray] = {}
    for side in SIDES:
        j, jp = leg(world, side), leg(image, side)
        s = _SUFFIX[side]
        front = np.stack([p.points[f"shank_front.{s}"] for p in posed])
        out[f"{side}_knee_flexion_deg"] = knee_flexion(j["hip"], j["knee"], j["ankle"])
        out[f"{side}_fppa_deg"] = fppa(jp["hip"], jp["knee"], jp["ankle"], jp["other_hip"])
        out[f"{side}_frontal_fppa_deg"] = fppa(
            j["hip"], j["knee"], j["ankle"], j["other_hip"], view_axis=anterior
        )
        out[f"{side}_tibial_rotation_deg"] = tibial_rotation(
            j["hip"], j["knee"], j["ankle"], j["heel"], j["toe"], j["other_hip"]
        )
        out[f"{side}_shank_rotation_deg"] = tibial_rotation(
            j["hip"], j["knee"], j["ankle"], j["knee"], j["knee"] + front, j["other_hip"]
        )
        out[f"{side}_knee_abduction_deg"] = knee_abduction(
            j["hip"], j["knee"], j["ankle"], j["other_hip"]
        )
        out[f"{side}_hip_adduction_deg"] = hip_adduction(j["hip"], j["knee"], j["other_hip"])
        out[f"{side}_medial_knee_displacement_pct"] = medial_knee_displacement(
            jp["hip"], jp["knee"], jp["ankle"], jp["other_hip"]
        )
        out[f"{side}_shank_angle_deg"] = ankle_dorsiflexion(j["knee"], j["ankle"], up=UP)
        out[f"{side}_pelvic_drop_deg"] = pelvic_drop(j["hip"], j["other_hip"], up=UP)
    li, ri = JOINTS["knee"]["left"], JOINTS["knee"]["right"]
    la, ra = JOINTS["ankle"]["left"], JOINTS["ankle"]["right"]
    out["knee_ankle_separation_ratio"] = knee_ankle_separation_ratio(
        image[:, li], image[:, ri], image[:, la], image[:, ra]
    )
    return out


def world_points(posed: list[PosedBody]) -> dict[str, FloatArray]:
    """True 3-D joint positions, ``<side>_<joint>`` → (T, 3) metres, the scene's frame (y up)."""
    world = landmark_array(posed)
    return {f"{side}_{name}": world[:, idx[side]] for name, idx in JOINTS.items() for side in SIDES}


def projections(posed: list[PosedBody], camera: Camera) -> dict[str, FloatArray]:
    """True image positions of the joints, ``<side>_<joint>`` → (T, 2) pixels."""
    image = camera.project(landmark_array(posed))
    return {f"{side}_{name}": image[:, idx[side]] for name, idx in JOINTS.items() for side in SIDES}

"""The posed body: exact joint angles in, the same angles measured back on the skeleton."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from kneevision.digital_human.body import (
    BODIES,
    BodyShape,
    LegPose,
    Pose,
    blend,
    pose_body,
    rest_body,
    skin,
)
from kneevision.digital_human.render import PhoneCamera
from kneevision.digital_human.truth import truth_series

REST = rest_body(BodyShape())
CAM = PhoneCamera(width=640, height=360).camera()


def truth_of(pose: Pose) -> dict[str, float]:
    return {k: float(v[0]) for k, v in truth_series([pose_body(REST, pose)], CAM).items()}


def test_zero_pose_stands_straight_with_feet_flat_on_the_floor():
    p = pose_body(REST, Pose())
    for s in "LR":
        hip, knee, ankle = p.points[f"hip.{s}"], p.points[f"knee.{s}"], p.points[f"ankle.{s}"]
        assert np.allclose(hip[[0, 2]], knee[[0, 2]], atol=1e-9)
        assert np.allclose(knee[[0, 2]], ankle[[0, 2]], atol=1e-9)
        # Foot flat: heel and toe-tip points at the same height above the floor (± 3 cm of
        # anatomy), the toe in front.
        assert p.points[f"toe.{s}"][2] > p.points[f"heel.{s}"][2] + 0.12
    v = skin(REST, p)[np.unique(REST.faces)]
    assert v[:, 1].min() == pytest.approx(0.0, abs=1e-9)  # standing on the floor
    assert 1.5 < v[:, 1].max() < 1.8  # a person's height


@pytest.mark.parametrize("k", [0.0, 30.0, 70.0, 90.0, 110.0])
def test_knee_flexion_truth_is_the_commanded_angle(k):
    t = truth_of(Pose().with_leg("left", knee_flexion=k))
    assert t["left_knee_flexion_deg"] == pytest.approx(k, abs=1e-6)
    assert t["right_knee_flexion_deg"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("a", [-8.0, 5.0, 12.0])
def test_valgus_is_positive_fppa_on_both_legs(a):
    pose = Pose().with_leg("left", knee_abduction=a).with_leg("right", knee_abduction=a)
    t = truth_of(pose)
    for side in ("left", "right"):
        assert t[f"{side}_frontal_fppa_deg"] == pytest.approx(a, abs=1e-6)
        assert t[f"{side}_knee_abduction_deg"] == pytest.approx(a, abs=1e-6)
        assert np.sign(t[f"{side}_fppa_deg"]) == np.sign(a)  # through the camera too


@pytest.mark.parametrize("knee", [70.0, 90.0, 110.0])
@pytest.mark.parametrize("rot", [-25.0, 10.0, 20.0])
def test_tibial_rotation_truth_follows_the_shank_twist(knee, rot):
    """Seated: the shank's own rotation equals the commanded twist for both legs; with the
    foot planted, the foot axis follows it exactly at 90° (at 70/110° the foot stays flat
    on the floor, so the foot axis and the shank part by a few degrees)."""
    base = Pose(legs={s: LegPose(hip_flexion=90.0, knee_flexion=knee, planted=True)
                      for s in ("left", "right")})  # fmt: skip
    t0 = truth_of(base)
    t1 = truth_of(base.with_leg("left", tibial_rotation=rot).with_leg("right", tibial_rotation=rot))
    for side in ("left", "right"):
        shank = t1[f"{side}_shank_rotation_deg"] - t0[f"{side}_shank_rotation_deg"]
        assert shank == pytest.approx(rot, abs=1e-6)
        foot = t1[f"{side}_tibial_rotation_deg"] - t0[f"{side}_tibial_rotation_deg"]
        assert foot == pytest.approx(rot, abs=1e-6 if knee == 90.0 else 0.1 * abs(rot) + 0.5)


def test_hip_adduction_truth():
    t = truth_of(Pose().with_leg("right", hip_adduction=9.0))
    assert t["right_hip_adduction_deg"] == pytest.approx(9.0, abs=1e-6)


def test_left_and_right_are_mirror_images():
    pose = Pose(legs={s: LegPose(hip_flexion=40, hip_adduction=4, hip_rotation=6, knee_flexion=60,
                                 knee_abduction=3, tibial_rotation=-7, planted=True)
                      for s in ("left", "right")})  # fmt: skip
    p = pose_body(REST, pose)
    for j in ("hip", "knee", "ankle", "heel", "toe"):
        left, right = p.points[f"{j}.L"], p.points[f"{j}.R"]
        assert left * [-1, 1, 1] == pytest.approx(right, abs=2e-3), j  # the mesh is symmetric
    t = truth_of(pose)
    for m in ("knee_flexion_deg", "frontal_fppa_deg", "tibial_rotation_deg", "hip_adduction_deg"):
        assert t[f"left_{m}"] == pytest.approx(t[f"right_{m}"], abs=0.2), m


def test_planted_feet_stay_put_through_a_squat():
    ankles = []
    for k in (0.0, 40.0, 80.0):
        pose = Pose(legs={s: LegPose(hip_flexion=0.7 * k, knee_flexion=k, planted=True)
                          for s in ("left", "right")})  # fmt: skip
        p = pose_body(REST, pose)
        ankles.append(np.array([p.points["ankle.L"], p.points["ankle.R"]]))
        sole = skin(REST, p)[np.unique(REST.faces)][:, 1].min()
        assert sole == pytest.approx(0.0, abs=1e-9)
    mid = [a.mean(axis=0)[[0, 2]] for a in ankles]
    assert np.allclose(mid, mid[0], atol=1e-9)


def test_blend_is_linear_in_every_angle():
    a = Pose().with_leg("left", knee_flexion=10.0, tibial_rotation=-4.0)
    b = replace(Pose(yaw=20.0), position=(1.0, 0.95, 0.0)).with_leg("left", knee_flexion=50.0)
    m = blend(a, b, 0.25)
    assert m.legs["left"].knee_flexion == pytest.approx(20.0)
    assert m.legs["left"].tibial_rotation == pytest.approx(-3.0)
    assert m.yaw == pytest.approx(5.0)
    assert m.position[0] == pytest.approx(0.25)


@pytest.mark.parametrize("name", sorted(BODIES))
def test_every_named_body_builds(name):
    rest = rest_body(BODIES[name])
    height = np.ptp(rest.vertices[rest.drawn, 1])
    assert 1.45 < height < 1.95, (name, height)
    assert all(0.3 < v < 0.55 for v in rest.lengths.values()), rest.lengths

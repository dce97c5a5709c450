"""Angles against synthetic ground truth: exact 3-D recovery, sign conventions, invariances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kneevision import synthetic as S
from kneevision.kinematics import (
    SIDES,
    ankle_dorsiflexion,
    fppa,
    hip_adduction,
    knee_abduction,
    knee_ankle_separation_ratio,
    knee_flexion,
    leg,
    medial_knee_displacement,
    pelvic_drop,
    tibial_rotation,
)
from kneevision.pose.sequence import MIRROR_PERMUTATION

angle = st.floats(-180, 180, allow_nan=False)


def _pose(
    flex=0.0,
    abd=0.0,
    rot=0.0,
    hip_flex=0.0,
    hip_add=0.0,
    hip_rot=0.0,
    yaw=0.0,
    pitch=0.0,
    roll=0.0,
    pos=(0.0, 0.9, 0.0),
):
    ang = {
        s: {
            "knee_flexion": flex,
            "knee_abduction": abd,
            "tibial_rotation": rot,
            "hip_flexion": hip_flex,
            "hip_adduction": hip_add,
            "hip_rotation": hip_rot,
        }
        for s in SIDES
    }
    return S.skeleton(ang, pos, S.rotation(yaw, pitch, roll))[0]


def _all(points, side):
    j = leg(points, side)
    return {
        "flex": knee_flexion(j["hip"], j["knee"], j["ankle"]),
        "abd": knee_abduction(j["hip"], j["knee"], j["ankle"], j["other_hip"]),
        "rot": tibial_rotation(
            j["hip"], j["knee"], j["ankle"], j["heel"], j["toe"], j["other_hip"]
        ),
    }


@settings(max_examples=150, deadline=None)
@given(
    flex=st.floats(0, 150),
    abd=st.floats(-15, 15),
    rot=st.floats(-40, 40),
    hip_flex=st.floats(-20, 110),
    hip_add=st.floats(-20, 20),
    hip_rot=st.floats(-30, 30),
    yaw=angle,
    pitch=angle,
    roll=angle,
    pos=st.tuples(*[st.floats(-10, 10)] * 3),
)
def test_3d_recovery_any_pelvis_pose(
    flex, abd, rot, hip_flex, hip_add, hip_rot, yaw, pitch, roll, pos
):
    """Noise-free 3-D: abduction exact, flexion = arccos(cos φ cos β), rotation exact at β=0.

    Hip rotation is applied to the rotation check only: without a femoral condyle
    axis, hip rotation of a bent knee shows up as abduction (next test).
    """
    pts = _pose(flex, abd, rot, hip_flex, hip_add, 0.0, yaw, pitch, roll, pos)
    pts0 = _pose(flex, 0.0, rot, hip_flex, hip_add, hip_rot, yaw, pitch, roll, pos)
    for side in SIDES:
        got = _all(pts, side)
        assert got["abd"] == pytest.approx(abd, abs=0.01)
        expected = np.degrees(np.arccos(np.cos(np.radians(flex)) * np.cos(np.radians(abd))))
        assert got["flex"] == pytest.approx(expected, abs=0.01)
        got0 = _all(pts0, side)
        assert got0["flex"] == pytest.approx(flex, abs=0.01)
        if flex > 1.0:  # the femoral reference needs a bent knee
            assert got0["rot"] == pytest.approx(rot, abs=0.01)


@settings(max_examples=60, deadline=None)
@given(flex=st.floats(0, 120), hip_rot=st.floats(-30, 30), yaw=angle)
def test_abduction_crosstalk_from_hip_rotation_is_as_predicted(flex, hip_rot, yaw):
    """Hip rotation ψ of a knee bent by φ reads as abduction asin(sin φ · sin ψ).

    Hip, knee and ankle centres cannot tell femoral rotation from knee
    ab/adduction; this pins down exactly how large that confusion is.
    """
    pts = _pose(flex, 0.0, 0.0, hip_rot=hip_rot, yaw=yaw)
    expected = np.degrees(np.arcsin(np.sin(np.radians(flex)) * np.sin(np.radians(hip_rot))))
    for side in SIDES:
        assert _all(pts, side)["abd"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("flex", [70.0, 90.0, 110.0])
@pytest.mark.parametrize("abd", [-8.0, 0.0, 8.0])
def test_tibial_rotation_across_seated_flexion(flex, abd):
    """≤ 0.1° over −30…+20° at 70–110° knee flexion.

    With knee abduction the femoral reference (thigh made perpendicular to the
    shank) is off the Grood & Suntay floating axis by a constant angle, which
    the neutral subtraction of the seated twist test removes: the range
    relative to neutral is what must hold.
    """
    scene = S.seated_twist_scene(knee_flexion_deg=flex, knee_abduction_deg=abd)
    for side in SIDES:
        got = _all(scene.world, side)["rot"]
        if abd != 0.0:
            got = got - got[0]  # the still start is neutral
        err = np.abs(got - scene.truth[f"{side}_tibial_rotation_deg"])
        assert err.max() <= 0.1
        assert got.max() == pytest.approx(20.0, abs=0.1)
        assert got.min() == pytest.approx(-30.0, abs=0.1)


def test_internal_rotation_is_toes_toward_midline_for_both_legs():
    pts = _pose(flex=90, hip_flex=90, rot=15)
    for side in SIDES:
        j = leg(pts, side)
        foot = j["toe"] - j["heel"]
        medial = j["other_hip"] - j["hip"]
        assert np.dot(foot, medial) > 0  # toes point toward the other leg
        assert _all(pts, side)["rot"] == pytest.approx(15.0, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    l_rot=st.floats(-40, 40),
    r_rot=st.floats(-40, 40),
    l_abd=st.floats(-10, 10),
    r_abd=st.floats(-10, 10),
    yaw=angle,
)
def test_mirroring_swaps_legs_exactly(l_rot, r_rot, l_abd, r_abd, yaw):
    ang = {
        "left": {
            "knee_flexion": 90,
            "hip_flexion": 90,
            "tibial_rotation": l_rot,
            "knee_abduction": l_abd,
        },
        "right": {
            "knee_flexion": 80,
            "hip_flexion": 85,
            "tibial_rotation": r_rot,
            "knee_abduction": r_abd,
        },
    }
    pts = S.skeleton(ang, (0.3, 0.5, -1.0), S.rotation(yaw, 5, 0))[0]
    mirrored = pts[MIRROR_PERMUTATION] * np.array([-1.0, 1.0, 1.0])
    for side, twin in (("left", "right"), ("right", "left")):
        a, b = _all(pts, side), _all(mirrored, twin)
        for k in a:
            assert b[k] == pytest.approx(a[k], abs=1e-9)


def test_fppa_sign_valgus_positive_both_legs_2d():
    # Image coordinates (y down), person facing the camera: their left is image right.
    left_hip, right_hip = np.array([360.0, 300.0]), np.array([280.0, 300.0])
    ankle_l, ankle_r = np.array([370.0, 600.0]), np.array([270.0, 600.0])
    knee_l_valgus = np.array([340.0, 450.0])  # toward the midline (image left)
    knee_r_valgus = np.array([300.0, 450.0])
    assert fppa(left_hip, knee_l_valgus, ankle_l, right_hip) > 0
    assert fppa(right_hip, knee_r_valgus, ankle_r, left_hip) > 0
    knee_l_varus = np.array([395.0, 450.0])
    assert fppa(left_hip, knee_l_varus, ankle_l, right_hip) < 0
    assert medial_knee_displacement(left_hip, knee_l_valgus, ankle_l, right_hip) > 0
    assert fppa(left_hip, (left_hip + ankle_l) / 2, ankle_l, right_hip) == pytest.approx(0.0)


@pytest.mark.parametrize("valgus", [-12.0, -5.0, 0.0, 5.0, 12.0])
@pytest.mark.parametrize("yaw,pitch", [(0, 0), (3, 0), (5, 0), (0, 5), (5, 5), (-5, 3)])
def test_fppa_frontal_camera_within_half_degree(valgus, yaw, pitch):
    """A leg in the frontal plane seen by a camera within 5° of square: error ≤ 0.5°.

    With hip and knee flexed the thigh points at the camera and FPPA is much more
    sensitive to yaw; benchmarks/fppa_camera_tolerance.py prints that table.
    """
    ang = {s: {"knee_abduction": valgus, "hip_adduction": 4.0} for s in SIDES}
    world = S.skeleton(ang, (0.0, 0.92, 0.0))
    truth = S.true_fppa(world, np.array([0.0, 0.0, 1.0]))
    cam = S.Camera.facing([0, 0.5, 0], distance=3.5, yaw_deg=yaw, pitch_deg=pitch)
    img = cam.project(world)
    for side in SIDES:
        j = leg(img, side)
        got = fppa(j["hip"], j["knee"], j["ankle"], j["other_hip"])
        assert got == pytest.approx(truth[f"{side}_fppa_deg"][0], abs=0.5)
        assert truth[f"{side}_fppa_deg"][0] == pytest.approx(valgus, abs=0.5 + abs(valgus) * 0.05)


@settings(max_examples=80, deadline=None)
@given(
    scale=st.floats(0.01, 100),
    shift=st.tuples(*[st.floats(-1e3, 1e3)] * 3),
    flex=st.floats(5, 120),
    abd=st.floats(-10, 10),
    rot=st.floats(-30, 30),
)
def test_translation_and_scale_change_no_angle(scale, shift, flex, abd, rot):
    pts = _pose(flex, abd, rot, hip_flex=40)
    moved = pts * scale + np.array(shift)
    for side in SIDES:
        a, b = _all(pts, side), _all(moved, side)
        for k in a:
            assert b[k] == pytest.approx(a[k], abs=1e-6)
        j, jm = leg(pts, side), leg(moved, side)
        assert fppa(jm["hip"], jm["knee"], jm["ankle"], jm["other_hip"]) == pytest.approx(
            fppa(j["hip"], j["knee"], j["ankle"], j["other_hip"]), abs=1e-6
        )


def test_nan_never_raises_and_propagates():
    pts = np.full((5, 33, 3), np.nan)
    pts[1:] = _pose(60, 5, 10, hip_flex=60)
    for side in SIDES:
        out = _all(pts, side)
        for v in out.values():
            assert np.isnan(v[0]) and np.isfinite(v[1:]).all()
        j = leg(pts, side)
        assert np.isnan(fppa(j["hip"], j["knee"], j["ankle"], j["other_hip"])[0])
    zeros = np.zeros((4, 3))
    assert np.isnan(knee_abduction(zeros, zeros, zeros, zeros)).all()


def test_broadcasting_over_leading_dims():
    pts = np.broadcast_to(_pose(45, 0, 0, hip_flex=30), (4, 6, 33, 3))
    j = leg(pts, "left")
    assert knee_flexion(j["hip"], j["knee"], j["ankle"]).shape == (4, 6)
    assert np.allclose(knee_flexion(j["hip"], j["knee"], j["ankle"]), 45.0)


def test_other_angles():
    # Hip adduction: thigh tilted toward the midline.
    pts = _pose(hip_add=10)
    for side in SIDES:
        j = leg(pts, side)
        assert hip_adduction(j["hip"], j["knee"], j["other_hip"]) == pytest.approx(10, abs=1e-9)
    # Ankle dorsiflexion: shank 30° from vertical in a side image.
    knee, ankle = (
        np.array([100 + 200 * np.sin(np.radians(30)), 300.0]),
        np.array([100.0, 300 + 200 * np.cos(np.radians(30))]),
    )
    assert ankle_dorsiflexion(knee, ankle) == pytest.approx(30.0)
    # Pelvic drop: swing hip 5° lower (image y grows downward).
    stance, swing = (
        np.array([0.0, 0.0]),
        np.array([100 * np.cos(np.radians(5)), 100 * np.sin(np.radians(5))]),
    )
    assert pelvic_drop(stance, swing) == pytest.approx(5.0)
    # KASR: knees 20 apart, ankles 40 apart.
    assert knee_ankle_separation_ratio([10, 0], [-10, 0], [20, 5], [-20, 5]) == pytest.approx(0.5)


def test_wrong_dimensions_are_refused():
    with pytest.raises(ValueError, match="3-D"):
        tibial_rotation(*(np.zeros(2),) * 6)
    with pytest.raises(ValueError):
        knee_flexion(np.zeros(4), np.zeros(4), np.zeros(4))


@pytest.mark.parametrize("height, pitch, yaw, tol", [(0.5, 0.0, 0.0, 2.0), (0.5, 0.0, 15.0, 2.0),
                                                     (1.2, 25.0, -15.0, 3.5),
                                                     (2.0, 45.0, 0.0, 2.5)])  # fmt: skip
def test_foot_turn_front_recovers_the_twist_from_any_camera_height(height, pitch, yaw, tol):
    """Seated at 90°, shanks twisted ±30°: the front-view foot turn follows the truth for
    camera heights from the knee to above the head, tilted down or not, turned ±15°.
    What is left is perspective: the toes are nearer the camera than the heel, so a
    high or turned camera magnifies one end more (up to 3° at 30° of twist)."""
    from kneevision.kinematics.angles import foot_turn_front, seated_view_elevation
    from kneevision.kinematics.landmarks import leg
    from kneevision.synthetic import Camera, seated_twist_scene

    scene = seated_twist_scene(internal_deg=30.0, external_deg=30.0, cycles=1)
    target = np.array([0.0, 0.3, 0.25])
    az = np.radians(yaw)
    pos = np.array([2.2 * np.sin(az), height, 0.25 + 2.2 * np.cos(az)])
    cam = Camera.look_at(pos, target + [0, (height - 0.3) * (1 - pitch / 45.0) if pitch else
                                        height - 0.3, 0])  # fmt: skip
    img = cam.project(scene.world)
    for side in ("left", "right"):
        j, w = leg(img, side), leg(scene.world, side)
        ratio = np.linalg.norm(w["toe"] - w["heel"], axis=-1) / np.linalg.norm(
            w["ankle"] - w["knee"], axis=-1
        )
        lengths = [
            np.linalg.norm(w[b] - w[a], axis=-1) for a, b in (("hip", "knee"), ("knee", "ankle"))
        ]
        elev = np.nanmedian(seated_view_elevation(j["hip"], j["knee"], j["ankle"], *lengths))
        sight = np.degrees(np.arctan2(height - w["knee"][0, 1], np.hypot(*(
            pos[[0, 2]] - w["knee"][0, [0, 2]]))))  # fmt: skip
        assert elev == pytest.approx(sight, abs=6.0)  # perspective; cos(6°) = 0.995
        turn = foot_turn_front(j["knee"], j["ankle"], j["heel"], j["toe"], j["hip"],
                               j["other_hip"], ratio, elev)  # fmt: skip
        true = scene.truth[f"{side}_tibial_rotation_deg"]
        err = (turn - turn[0]) - (true - true[0])
        assert np.nanmax(np.abs(err)) < tol, (side, np.nanmax(np.abs(err)))


def test_foot_turn_tracked_takes_one_shank_length_for_the_clip():
    """Shank landmarks jittering by 3% per frame: with the clip's median shank length the
    tracked toe's turn stays exact; per frame the jitter reaches θ (and its peaks)."""
    from kneevision.kinematics.angles import foot_turn_tracked

    px = 500.0
    turn = np.radians(np.linspace(-30, 20, 51))
    toe = np.c_[-0.15 * np.sin(turn) * px, np.full(51, 0.46 * px)]  # left leg: medial is −x
    rng = np.random.default_rng(0)
    knee = np.c_[np.zeros(51), 0.40 * px * 0.03 * rng.standard_normal(51)]
    args = (toe, (0, 0.42 * px), knee, (0, 0.40 * px), (0, -200), (-100, -200), 0.15 / 0.40)
    steady = foot_turn_tracked(*args, shank_px=0.40 * px)
    np.testing.assert_allclose(steady, np.degrees(turn), atol=1e-9)
    jittered = foot_turn_tracked(*args)
    assert np.abs(jittered - np.degrees(turn)).max() > 0.5

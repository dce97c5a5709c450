"""The seated twist's front-view estimate from a tracked toe: scale, pivot, blend and fallback."""

from __future__ import annotations

import numpy as np
import pytest

from kneevision.kinematics.angles import foot_turn_pivot, foot_turn_tracked
from kneevision.kinematics.landmarks import SIDES, leg
from kneevision.pose.forefoot import ForefootTrack
from kneevision.protocols import seated_twist as st
from kneevision.synthetic import Camera, seated_twist_scene


def _filmed(knee: float = 90.0, azimuth: float = 0.0, distance: float = 20.0):
    """A synthetic twist filmed from the front: image, world (MediaPipe's y down), truth."""
    scene = seated_twist_scene(knee_flexion_deg=knee, internal_deg={"left": 18.0, "right": 8.0},
                               external_deg=28.0, cycles=1)  # fmt: skip
    cam = Camera.facing([0.0, 0.3, 0.25], distance=distance, azimuth_deg=azimuth, pitch_deg=1.0)
    world = scene.world.copy()
    world[..., 1] *= -1
    return scene, cam.project(scene.world), world


def _ranges(time_s: np.ndarray, theta: np.ndarray) -> tuple[float, float]:
    r, *_ = st.rotation_range(time_s, theta)
    return r["internal_rotation_deg"]["value"], r["external_rotation_deg"]["value"]


def test_pivot_is_the_shank_line_at_the_toe():
    # A plumb shank: straight below the ankle.
    assert foot_turn_pivot((5, 0), (5, 100), (-20, 130)).tolist() == [5.0, 130.0]
    # Leaning 10 px over 200 px, the toe 40 px lower: 2 px further along.
    assert foot_turn_pivot((100, 0), (110, 200), (90, 240)).tolist() == [112.0, 240.0]
    # Broadcasts over frames; a level shank has no line to follow.
    out = foot_turn_pivot(np.zeros((3, 2)), [[0, 10], [10, 10], [5, 0]], [[1, 12], [0, 12], [0, 4]])
    assert out[:2].tolist() == [[0.0, 12.0], [12.0, 12.0]]
    assert np.isnan(out[2]).all()
    with pytest.raises(ValueError, match="2-D"):
        foot_turn_pivot(np.zeros(3), np.ones(3), np.ones(3))


def test_toe_ratio_per_leg_and_pooled():
    _, _, world = _filmed()
    ankle, toe = leg(world, "left")["ankle"], leg(world, "left")["toe"]
    longer = world.copy()
    longer[:, 31] = ankle + 1.2 * (toe - ankle)  # the left foot index 20% further out
    left, right = st.toe_ratio(longer, "left"), st.toe_ratio(longer, "right")
    assert left == pytest.approx(1.2 * st.toe_ratio(world, "left"), rel=1e-6)
    assert right == pytest.approx(st.toe_ratio(world, "right"))
    assert right < st.toe_ratio(longer) < left  # pooled: between the two


@pytest.mark.parametrize("azimuth", [-15.0, 0.0, 15.0])
def test_tracked_toe_reads_the_twist_from_round_the_front(azimuth):
    """A toe point followed exactly, filmed from far (no perspective) at a 90° knee, the
    camera up to 15° round: the protocol's estimate (ankle–heel midpoint pivot) reads IR
    and ER within 1.5°; about the shank-line pivot the tracked toe alone reads them
    within 0.3° (the geometry is right; the midpoint is off the turning axis)."""
    scene, image, world = _filmed(azimuth=azimuth)
    t, still = scene.time_s, st.still_frames(scene.time_s)
    for side in SIDES:
        track = ForefootTrack(leg(image, side)["toe"], np.ones(len(t)))
        theta = st.rotation_series(image, world, side, "front", track=track, still=still)
        true = scene.truth[f"{side}_tibial_rotation_deg"]
        ir, er = _ranges(t, theta)
        assert ir == pytest.approx(true.max(), abs=1.5), side
        assert er == pytest.approx(-true.min(), abs=1.5), side
        j = {k: np.median(p[still], axis=0) for k, p in leg(image, side).items()}
        full = leg(image, side)
        axis = foot_turn_tracked(track.toe, foot_turn_pivot(j["knee"], j["ankle"], j["toe"]),
                                 full["knee"], full["ankle"], full["hip"], full["other_hip"],
                                 st.toe_ratio(world), st.elevation(image, world, side))  # fmt: skip
        ir, er = _ranges(t, axis)
        assert ir == pytest.approx(true.max(), abs=0.3), side
        assert er == pytest.approx(-true.min(), abs=0.3), side


def test_lost_track_falls_back_to_the_landmarks_aligned_on_the_still_start():
    scene, image, world = _filmed(distance=3.0)
    t, still = scene.time_s, st.still_frames(scene.time_s)
    toe = leg(image, "left")["toe"]
    lost = (t > 3.0) & (t < 4.0)
    track = ForefootTrack(np.where(lost[:, None], np.nan, toe), np.where(lost, 0.0, 1.0))
    theta = st.rotation_series(image, world, "left", "front", track=track, still=still)
    landmarks = st.rotation_series(image, world, "left", "front")
    tracked, usable = st.tracked_rotation(image, world, "left", track, still)
    assert not usable[lost].any() and usable[~lost].all()
    shift = np.median(tracked[still] - landmarks[still])
    np.testing.assert_allclose(theta[lost], landmarks[lost] + shift)
    # Where tracked: the pixels alone with the toes out, averaged with the landmarks in.
    inward = tracked > np.median(tracked[still])
    out, into = ~lost & ~inward, ~lost & inward
    np.testing.assert_allclose(theta[out], tracked[out])
    np.testing.assert_allclose(theta[into], 0.5 * (tracked[into] + landmarks[into] + shift))


def test_live_call_on_the_still_start_and_one_frame():
    """The live guide calls rotation_series on the still start's rows plus the current one."""
    scene, image, world = _filmed(distance=3.0)
    t = scene.time_s
    n = int(np.count_nonzero(t <= st.STILL_SEED_S))
    now = int(np.argmax(scene.truth["left_tibial_rotation_deg"]))  # the peak inward turn
    rows = np.r_[np.arange(n), now]
    toe = leg(image, "left")["toe"][rows]
    theta = st.rotation_series(image[rows], world[rows], "left", "front",
                               track=ForefootTrack(toe, np.ones(len(rows))),
                               still=slice(0, n))  # fmt: skip
    whole = st.rotation_series(image, world, "left", "front",
                               track=ForefootTrack(leg(image, "left")["toe"], np.ones(len(t))),
                               still=slice(0, n))  # fmt: skip
    assert theta.shape == (n + 1,)
    # The scale comes from fewer frames live; on an exact scene it is the same figure.
    assert theta[-1] - np.median(theta[:n]) == pytest.approx(whole[now] - np.median(whole[:n]),
                                                             abs=0.05)  # fmt: skip

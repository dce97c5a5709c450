"""Side-view flexion gain and the front/back label-flip detector."""

from __future__ import annotations

import numpy as np
import pytest

from kneevision.kinematics.angles import knee_flexion
from kneevision.kinematics.flexion import SIDE_FLEXION_GAIN, side_knee_flexion
from kneevision.kinematics.series import facing_flips, facing_sign, frame_angles, relabel


def _side_leg(flex_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image points of a leg seen from the side: thigh forward by f/2, shank back by f/2."""
    a = np.radians(np.asarray(flex_deg, float) / 2)
    hip = np.zeros((a.size, 2))
    knee = hip + 100 * np.stack([np.sin(a), np.cos(a)], -1)
    ankle = knee + 90 * np.stack([-np.sin(a), np.cos(a)], -1)
    return hip, knee, ankle


def test_side_flexion_is_the_2d_angle_times_the_gain():
    flex = np.array([0.0, 30.0, 60.0, 90.0])
    h, k, a = _side_leg(flex)
    np.testing.assert_allclose(knee_flexion(h, k, a), flex, atol=1e-9)
    np.testing.assert_allclose(side_knee_flexion(h, k, a), SIDE_FLEXION_GAIN * flex, atol=1e-9)
    np.testing.assert_allclose(side_knee_flexion(h, k, a, gain=1.0), flex, atol=1e-9)
    assert np.isnan(side_knee_flexion((np.nan, 0), (0, 1), (0, 2)))


def test_frame_angles_applies_the_gain_only_from_the_side():
    flex = np.linspace(0, 90, 7)
    image = np.full((7, 33, 2), np.nan)
    world = np.full((7, 33, 3), np.nan)
    h, k, a = _side_leg(flex)
    for idx, p in ((23, h), (25, k), (27, a), (24, h), (26, k), (28, a)):
        image[:, idx] = p
        world[:, idx] = np.column_stack([np.zeros(7), p[:, 1], p[:, 0]]) / 100
    side = frame_angles(image, world, "side")["left_knee_flexion_deg"]
    other = frame_angles(image, world, "oblique")["left_knee_flexion_deg"]
    np.testing.assert_allclose(side, SIDE_FLEXION_GAIN * flex, atol=1e-6)
    np.testing.assert_allclose(other, flex, atol=1e-6)


def _front_body(T: int, flip: np.ndarray, hip_drop: np.ndarray) -> np.ndarray:
    """Image landmarks of a body facing the camera; ``flip`` frames have L/R labels exchanged."""
    img = np.full((T, 33, 2), np.nan)
    for left, right, x, y in ((11, 12, 40, 100), (23, 24, 25, 250), (25, 26, 25, 350)):
        img[:, left] = [500 + x, y]  # person's left on the image right: facing the camera
        img[:, right] = [500 - x, y]
    img[:, 23:27, 1] += hip_drop[:, None]
    perm = np.arange(33)
    for a, b in ((11, 12), (23, 24), (25, 26)):
        perm[a], perm[b] = b, a
    return relabel(img, flip, perm), perm


def test_facing_flips_finds_an_abrupt_relabelling_and_keeps_the_deep_frames():
    T = 90
    t = np.arange(T) / 30
    deep = (t > 1.0) & (t < 2.0)
    flip = ~deep  # labels wrong while standing, right at depth (as on the renders)
    img, perm = _front_body(T, flip, np.where(deep, 30.0, 0.0))
    assert set(np.unique(facing_sign(img))) == {-1.0, 1.0}
    found = facing_flips(t, img)
    np.testing.assert_array_equal(found, flip)
    fixed = relabel(img, found, perm)
    assert (facing_sign(fixed) == 1).all()


def test_facing_flips_ignores_a_slow_turn_and_a_side_view():
    T = 90
    t = np.arange(T) / 30
    img, _ = _front_body(T, np.zeros(T, bool), np.zeros(T))
    assert not facing_flips(t, img).any()
    # Turning round over 2 s: the width passes through zero (unclear) for more than 0.5 s.
    turn = img.copy()
    c = np.cos(np.linspace(0, np.pi, T))
    turn[..., 0] = 500 + (img[..., 0] - 500) * c[:, None]
    assert not facing_flips(t, turn).any()
    side = img.copy()
    side[..., 0] = 500.0  # side-on: no width, nothing to judge
    assert not facing_flips(t, side).any()


@pytest.mark.parametrize("gain", [1.0, SIDE_FLEXION_GAIN])
def test_straight_leg_stays_straight(gain):
    h, k, a = _side_leg(np.zeros(3))
    np.testing.assert_allclose(side_knee_flexion(h, k, a, gain=gain), 0.0, atol=1e-9)

"""Side-view flexion gain, signed front-view foreshortening, the planted ankle, the front/back
label-flip detector."""

from __future__ import annotations

import numpy as np
import pytest

from kneevision.kinematics.angles import knee_flexion, knee_flexion_foreshortened
from kneevision.kinematics.flexion import (
    PLANTED_RISE,
    SIDE_FLEXION_GAIN,
    STRAIGHT_BAND_DEG,
    front_knee_flexion,
    planted_ankle,
    side_knee_flexion,
    signed_tilt,
)
from kneevision.kinematics.series import (
    clip_facing,
    facing_flips,
    facing_sign,
    frame_angles,
    leg_label_swaps,
    relabel,
    relabel_pairs,
    squeezed_pelvis,
)


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


def test_leg_joints_relabelled_one_by_one_are_found_and_put_back():
    """The model exchanges single leg joints' labels (hips and knees on some frames, hips
    and ankles on others): each pair whose image order is the reverse of the clip's
    facing is found where the hips are reversed, whichever way the clip faces, and
    exchanged back. Knees crossing with the hips in order are legs crossing: left alone."""
    T = 60
    t = np.arange(T) / 30
    img, _ = _front_body(T, np.zeros(T, bool), np.where((t > 0.7) & (t < 1.3), 30.0, 0.0))
    img[:, 27], img[:, 28] = [525, 450], [475, 450]  # ankles, person's left on the right
    truth = img.copy()
    hips, knees, ankles = (np.zeros(T, bool) for _ in range(3))
    hips[5:12], knees[5:12] = True, True
    hips[30:50], ankles[30:50] = True, True
    for rows, (a, b) in ((hips, (23, 24)), (knees, (25, 26)), (ankles, (27, 28))):
        img[rows, a], img[rows, b] = truth[rows, b], truth[rows, a]
    truth_crossed = img.copy()
    img[52:56, 25], img[52:56, 26] = truth[52:56, 26], truth[52:56, 25]
    truth_crossed[52:56] = img[52:56]  # really crossed: stays so
    assert clip_facing(img) == 1.0
    swaps = leg_label_swaps(img, clip_facing(img))
    np.testing.assert_array_equal(swaps[:, 0], hips)
    np.testing.assert_array_equal(swaps[:, 1], knees)
    np.testing.assert_array_equal(swaps[:, 2], ankles)
    assert not swaps[:, [3, 4]].any()  # heels and toes missing (NaN)
    fixed = relabel_pairs(img, swaps)
    np.testing.assert_array_equal(fixed[:52], truth[:52])
    np.testing.assert_array_equal(fixed[52:], truth_crossed[52:])
    # The same clip mirrored (the person's left on the image left throughout).
    mirrored = img.copy()
    mirrored[..., 0] = 1000 - img[..., 0]
    assert clip_facing(mirrored) == -1.0
    np.testing.assert_array_equal(leg_label_swaps(mirrored, -1.0), swaps)


@pytest.mark.parametrize("gain", [1.0, SIDE_FLEXION_GAIN])
def test_straight_leg_stays_straight(gain):
    h, k, a = _side_leg(np.zeros(3))
    np.testing.assert_allclose(side_knee_flexion(h, k, a, gain=gain), 0.0, atol=1e-9)


def test_signed_tilt_is_symmetric_in_the_length_ratio():
    ref = 100.0
    for r in (1.005, 1.02, 1.2):
        np.testing.assert_allclose(signed_tilt(ref * r, ref), -signed_tilt(ref / r, ref), atol=1e-9)
    np.testing.assert_allclose(signed_tilt([100.0, 50.0, 0.0], ref), [0.0, 60.0, 90.0], atol=1e-9)
    assert np.isnan(signed_tilt(np.nan, ref)) and np.isnan(signed_tilt(50.0, 0.0))


def _front_leg(thigh_px: np.ndarray, shank_px: np.ndarray) -> tuple[np.ndarray, ...]:
    """Image points of a leg seen from the front with the given segment image lengths."""
    hip = np.zeros((thigh_px.size, 2))
    knee = hip + np.stack([np.zeros_like(thigh_px), thigh_px], -1)
    return hip, knee, knee + np.stack([np.zeros_like(shank_px), shank_px], -1)


def test_front_flexion_cancels_a_straight_legs_wobble_and_keeps_the_bends():
    rng = np.random.default_rng(0)
    # Standing: a knee landmark jittering ±1.5 px lengthens one segment and shortens the other.
    jitter = rng.normal(0.0, 1.5, 300)
    h, k, a = _front_leg(100 + jitter, 90 - jitter)
    signed = front_knee_flexion(h, k, a, 100.0, 90.0, thigh_gain=1.0)
    folded = knee_flexion_foreshortened(h, k, a, 100.0, 90.0)
    assert np.median(folded) > 8.0  # the unsigned sum: every frame but the exact ones bent
    assert np.median(signed) < 1.0 and (signed >= 0).all()
    # Bent: thigh 30°, shank 40° toward the camera, the same ±1 % noise: 70° either way.
    c = np.cos(np.radians([30.0, 40.0]))
    h, k, a = _front_leg(100 * c[0] * (1 + 0.01 * rng.standard_normal(50)), np.full(50, 90 * c[1]))
    exact = front_knee_flexion(h, k, a, 100.0, 90.0, thigh_gain=1.0)
    np.testing.assert_allclose(exact, knee_flexion_foreshortened(h, k, a, 100.0, 90.0))
    assert abs(np.median(exact) - 70.0) < 0.5
    assert np.isnan(front_knee_flexion((np.nan, 0), (0, 1), (0, 2), 1.0, 1.0))


def test_front_flexion_a_bent_legs_magnified_segment_is_not_subtracted():
    """A knee toward the camera can make the shank look longer than standing (perspective):
    once the thigh is well tilted that is not read as a negative shank tilt."""
    c = np.cos(np.radians(40.0))
    h, k, a = _front_leg(np.array([100 * c]), np.array([92.0]))  # shank 2 % "too long"
    np.testing.assert_allclose(
        front_knee_flexion(h, k, a, 100.0, 90.0, thigh_gain=1.0), 40.0, atol=1e-9
    )
    # Near straight a 1 % longer shank counts: it cancels a 1 % shorter thigh.
    h, k, a = _front_leg(np.array([99.0]), np.array([90.9]))
    assert (
        front_knee_flexion(h, k, a, 100.0, 90.0)[0]
        < 0.5 * knee_flexion_foreshortened(h, k, a, 100.0, 90.0)[0]
    )


def test_front_flexion_scales_a_bent_thighs_shortening_and_leaves_a_straight_leg():
    """The thigh gain: a tilted thigh's shortening times the gain; a straight leg's wobble
    (within the straight band) is not amplified."""
    gain = 1.2
    for tilt in (20.0, 45.0, 70.0):  # past the band's 15°: the full gain
        ratio = np.cos(np.radians(tilt))
        h, k, a = _front_leg(np.array([100 * ratio]), np.array([90.0]))
        want = np.degrees(np.arccos(1 - gain * (1 - ratio)))
        got = front_knee_flexion(h, k, a, 100.0, 90.0, thigh_gain=gain)[0]
        assert got == pytest.approx(want, abs=1e-9) and got > tilt
    rng = np.random.default_rng(2)
    jitter = rng.normal(0.0, 1.5, 300)
    h, k, a = _front_leg(100 + jitter, 90 - jitter)
    within = signed_tilt(100 + jitter, 100.0) <= STRAIGHT_BAND_DEG[0]
    assert within.mean() > 0.5
    np.testing.assert_array_equal(
        front_knee_flexion(h, k, a, 100.0, 90.0, thigh_gain=gain)[within],
        front_knee_flexion(h, k, a, 100.0, 90.0, thigh_gain=1.0)[within],
    )


def test_frame_angles_front_reads_standing_frames_near_straight():
    """A front clip: 2 s standing with length jitter, then a bend; standing reads < 1°."""
    rng = np.random.default_rng(1)
    T = 90
    bend = np.where(np.arange(T) >= 60, 60.0, 0.0)  # thigh and shank each tilt 30° at the end
    c = np.cos(np.radians(bend / 2))
    jitter = rng.normal(0.0, 1.0, T)
    image = np.full((T, 33, 2), np.nan)
    world = np.full((T, 33, 3), np.nan)
    for hip, knee, ankle, x in ((23, 25, 27, 540.0), (24, 26, 28, 460.0)):
        image[:, hip] = np.column_stack([np.full(T, x), np.full(T, 200.0)])
        image[:, knee] = image[:, hip] + np.column_stack([np.zeros(T), 100 * c + jitter])
        image[:, ankle] = image[:, knee] + np.column_stack([np.zeros(T), 90 * c - jitter])
        a = np.radians(bend / 2)  # world: thigh forward, shank back, y down
        world[:, hip] = [x / 1000, 0.0, 0.0]
        world[:, knee] = world[:, hip] + 0.45 * np.column_stack(
            [np.zeros(T), np.cos(a), -np.sin(a)]
        )
        world[:, ankle] = world[:, knee] + 0.4 * np.column_stack(
            [np.zeros(T), np.cos(a), np.sin(a)]
        )
    out = frame_angles(image, world, "front")
    for side in ("left", "right"):
        flex = out[f"{side}_knee_flexion_deg"]
        assert np.median(flex[:60]) < 1.0
        # The bend as the front estimate reads exact joints (the thigh's gain included).
        c30 = np.cos(np.radians(30.0))
        want = front_knee_flexion((0, 0), (0, 100 * c30), (0, 100 * c30 + 90 * c30), 100.0, 90.0)
        assert abs(np.median(flex[60:]) - float(want)) < 1.5


def test_body_yaw_and_view_ignore_swapped_shoulder_or_hip_labels():
    """A frame whose shoulders' (or hips') labels the model swapped keeps its yaw: it is not
    a turn (a rendered single-leg squat with such frames read as oblique)."""
    from kneevision.kinematics.series import body_yaw_deg, estimate_view

    T = 60
    world = np.zeros((T, 33, 3))
    image = np.zeros((T, 33, 2))
    yaw = np.radians(5.0)
    for i, x in ((11, 0.2), (12, -0.2), (23, 0.12), (24, -0.12)):  # shoulders, hips
        world[:, i] = [x * np.cos(yaw), -0.5 if i < 20 else 0.0, x * np.sin(yaw)]
        image[:, i] = [480 + 400 * x, 100 if i < 20 else 300]
    swapped = world.copy()
    swapped[::3, [11, 12]] = swapped[::3, [12, 11]]  # every third frame: shoulders swapped
    swapped[1::3, [23, 24]] = swapped[1::3, [24, 23]]  # and hips on others
    np.testing.assert_allclose(body_yaw_deg(swapped), 5.0, atol=1e-9)
    np.testing.assert_allclose(body_yaw_deg(world), 5.0, atol=1e-9)
    assert estimate_view(image, swapped) == "front"
    # A real turn still reads as one: side-on.
    side = world.copy()
    side[:, [11, 12, 23, 24], 2], side[:, [11, 12, 23, 24], 0] = world[:, [11, 12, 23, 24], 0], 0.0
    np.testing.assert_allclose(body_yaw_deg(side), 90.0, atol=1e-9)


def test_planted_ankle_takes_back_a_small_rise_keeps_a_step_and_is_continuous():
    shank, y0 = 90.0, 500.0
    lo, hi = PLANTED_RISE
    rises = np.linspace(-0.2, 0.5, 701) * shank
    ankle = np.column_stack([np.full(rises.size, 10.0), y0 - rises])
    held = planted_ankle(ankle, y0, shank)
    kept = (y0 - held[:, 1]) / shank
    r = rises / shank
    np.testing.assert_array_equal(held[:, 0], ankle[:, 0])  # x untouched
    np.testing.assert_allclose(kept[(r > 0) & (r <= lo)], 0.0, atol=1e-12)  # held down
    np.testing.assert_allclose(kept[r >= hi], r[r >= hi])  # a step or lift is kept
    np.testing.assert_allclose(kept[r <= 0], r[r <= 0])  # a fall is kept
    assert np.all(np.diff(kept) >= -1e-12)  # monotone, and no jump anywhere
    assert np.max(np.abs(np.diff(kept))) < 3 * (r[1] - r[0]) * hi / (hi - lo)


def test_frame_angles_front_holds_a_planted_ankle_the_model_lifts_at_depth():
    """Hip sinking over a planted foot; the model's ankle rises 5% of the shank at depth."""
    T = 120
    bend = 60.0 * np.clip((np.arange(T) - 40) / 40, 0, 1)  # 40 frames standing, then to 60°
    c = np.cos(np.radians(bend / 2))  # thigh and shank each tilt half
    a = np.radians(bend / 2)
    image = np.full((T, 33, 2), np.nan)
    world = np.full((T, 33, 3), np.nan)
    for hip, knee, ankle, x in ((23, 25, 27, 540.0), (24, 26, 28, 460.0)):
        image[:, ankle] = [x, 400.0]
        image[:, knee] = image[:, ankle] - np.column_stack([np.zeros(T), 90 * c])
        image[:, hip] = image[:, knee] - np.column_stack([np.zeros(T), 100 * c])
        image[:, ankle, 1] -= 0.05 * 90 * bend / 60  # the model's ankle rises with depth
        world[:, ankle] = [x / 1000, 0.85, 0.0]
        world[:, knee] = world[:, ankle] - 0.4 * np.column_stack(
            [np.zeros(T), np.cos(a), np.sin(a)]
        )
        world[:, hip] = world[:, knee] - 0.45 * np.column_stack(
            [np.zeros(T), np.cos(a), -np.sin(a)]
        )
    flex = frame_angles(image, world, "front")["left_knee_flexion_deg"]
    true_ankle = image[:, 27].copy()
    true_ankle[:, 1] = 400.0
    exact = front_knee_flexion(image[:, 23], image[:, 25], true_ankle, 100.0, 90.0)
    as_seen = front_knee_flexion(image[:, 23], image[:, 25], image[:, 27], 100.0, 90.0)
    assert as_seen[-1] - exact[-1] > 5.0  # the lifted ankle alone would read this much more
    np.testing.assert_allclose(flex, exact, atol=1e-6)


def test_frame_angles_front_gives_no_flexion_where_the_models_pelvis_is_squeezed():
    """A front clip whose model pose narrows to side-on for 5 frames: no flexion there."""
    rng = np.random.default_rng(3)
    T = 60
    image = np.full((T, 33, 2), np.nan)
    world = np.full((T, 33, 3), np.nan)
    for hip, knee, ankle, x in ((23, 25, 27, 540.0), (24, 26, 28, 460.0)):
        image[:, hip] = [x, 200.0]
        image[:, knee] = [x, 300.0]
        image[:, ankle] = [x, 390.0]
        world[:, hip], world[:, knee], world[:, ankle] = [x / 1000, 0, 0], [x / 1000, 0.45, 0], [
            x / 1000, 0.85, 0]  # fmt: skip
    image[:, 11], image[:, 12] = [550.0, 0.0], [450.0, 0.0]  # shoulders
    image[:, 11:29] += rng.normal(0.0, 0.5, (T, 18, 2))
    # A person walking in from 2.5 times the distance is not squeezed: the width is the trunk's.
    far = image.copy()
    far[:20] = 500 + 0.4 * (far[:20] - 500)
    assert not squeezed_pelvis(far).any()
    image[30:35, 23] = image[30:35, 24] + [15.0, 0.0]  # hips 15 px apart instead of 80
    image[30:35, 25] = image[30:35, 26] + [10.0, -30.0]  # and a leg misplaced with them
    front = frame_angles(image, world, "front")
    side = frame_angles(image, world, "side")
    for name in ("left_knee_flexion_deg", "right_knee_flexion_deg"):
        assert np.isnan(front[name][30:35]).all()
        assert np.isfinite(front[name][:30]).all() and np.isfinite(front[name][35:]).all()
        assert np.isfinite(side[name]).all()  # from the side the hips do overlap

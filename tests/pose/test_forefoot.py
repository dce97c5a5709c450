"""The forefoot tracker carries the toe point with a turning, textured foot."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kneevision.pose.forefoot import ForefootFollower, neutral_foot, track_forefeet
from kneevision.pose.sequence import INDEX, N_LANDMARKS

PIVOT = {"left": np.array([220.0, 120.0]), "right": np.array([100.0, 120.0])}
TOE_LENGTH = 60.0


def _turns(n: int) -> np.ndarray:
    """Degrees per frame: still for 20 frames, then in to +20° and out to −25°."""
    t = np.arange(n, dtype=float)
    theta = np.zeros(n)
    up = (t >= 20) & (t < 40)
    theta[up] = 20 * np.sin(np.pi * (t[up] - 20) / 20)
    down = t >= 40
    theta[down] = -25 * np.sin(np.pi * (t[down] - 40) / 40)
    return theta


def _clip(n: int = 80, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, dict]:
    """Frames of two textured feet turning in the picture plane about their ankles."""
    rng = np.random.default_rng(seed)
    size = (240, 320)
    texture = cv2.GaussianBlur(rng.integers(0, 255, size, np.uint8), (0, 0), 1.5)
    theta = _turns(n)
    frames, truth = [], {s: np.zeros((n, 2)) for s in PIVOT}
    image = np.full((n, N_LANDMARKS, 2), np.nan)
    for i in range(n):
        frame = np.full(size, 90, np.uint8)
        for s, pivot in PIVOT.items():
            angle = theta[i] if s == "left" else -theta[i]
            rot = cv2.getRotationMatrix2D(tuple(pivot), angle, 1.0)
            foot = np.zeros(size, np.uint8)
            cv2.ellipse(foot, (round(pivot[0]), round(pivot[1] + 35)), (18, 45), 0, 0, 360, 255, -1)
            moved_foot = cv2.warpAffine(foot, rot, size[::-1])
            moved_tex = cv2.warpAffine(texture, rot, size[::-1])
            frame = np.where(moved_foot > 0, moved_tex, frame)
            toe0 = pivot + (0.0, TOE_LENGTH)
            truth[s][i] = rot[:, :2] @ toe0 + rot[:, 2]
            # Landmarks: MediaPipe's toe stays put (as it does when the foot turns out).
            image[i, INDEX[f"{s}_ankle"]] = pivot
            image[i, INDEX[f"{s}_foot_index"]] = toe0
        frames.append(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    return frames, image, truth


def test_tracked_toe_follows_the_turning_foot():
    frames, image, truth = _clip()
    tracks = track_forefeet(iter(frames), image, slice(0, 15))
    for side, track in tracks.items():
        err = np.linalg.norm(track.toe - truth[side], axis=1)
        assert np.all(track.confidence == 1.0), side
        assert np.nanmax(err) < 1.5, (side, np.nanmax(err))


def test_the_live_follower_reads_what_the_clip_pass_reads():
    """Seeded in one frame and stepped frame by frame (the live guide), the follower gives
    the clip pass's toe from that frame on: they are one tracker."""
    frames, image, truth = _clip()
    clip = track_forefeet(iter(frames), image, slice(0, 15))  # seeded in frame 7
    neutral = {s: neutral_foot(image[:15], s) for s in PIVOT}
    follower = ForefootFollower(frames[7], neutral)
    toe, share = follower.toe(np.array([follower.step(f) for f in frames[8:]]))
    for k, side in enumerate(("left", "right")):
        np.testing.assert_array_equal(toe[:, k], clip[side].toe[8:])
        np.testing.assert_array_equal(share[:, k], clip[side].confidence[8:])
        assert np.max(np.linalg.norm(toe[:, k] - truth[side][8:], axis=1)) < 1.5


def test_pixel_aspect_is_undone_and_redone():
    frames, image, truth = _clip(n=40)
    squeezed = image.copy()
    squeezed[..., 0] *= 2.0  # landmarks in square pixels of a clip with 2:1 pixels
    tracks = track_forefeet(iter(frames), squeezed, slice(0, 15), pixel_aspect=2.0)
    toe = tracks["left"].toe
    assert np.nanmax(np.abs(toe[:, 0] / 2.0 - truth["left"][:, 0])) < 1.5


def test_a_foot_without_texture_is_lost_not_guessed():
    frames, image, _ = _clip(n=30)
    flat = [np.full_like(f, 90) for f in frames]
    tracks = track_forefeet(iter(flat), image, slice(0, 15))
    assert np.all(tracks["left"].confidence == 0.0)
    assert np.isnan(tracks["left"].toe).all()


def test_an_empty_still_start_is_refused():
    _, image, _ = _clip(n=5)
    with pytest.raises(ValueError, match="still start"):
        track_forefeet(iter([]), image, slice(0, 0))

"""Real inference: rotation metadata is honoured exactly; follows one person."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kneevision.pose import PoseEstimator, resolve_model
from kneevision.video import read_video


@pytest.mark.slow
def test_rotated_clip_landmarks_equal_hand_rotated_frames(shared_samples):
    clip = shared_samples / "front_goblet_squat_home_A_rotated.mp4"
    model = resolve_model("lite")
    auto = list(read_video(clip, stop_s=1.5))
    raw = list(read_video(clip, stop_s=1.5, auto_rotate=False))
    assert len(auto) == len(raw) > 30
    with PoseEstimator(model, max_people=1) as a, PoseEstimator(model, max_people=1) as b:
        for fa, fr in zip(auto, raw, strict=True):
            by_hand = cv2.rotate(fr.image, cv2.ROTATE_90_CLOCKWISE)
            if not np.array_equal(by_hand, fa.image):
                by_hand = cv2.rotate(fr.image, cv2.ROTATE_90_COUNTERCLOCKWISE)
            assert np.array_equal(by_hand, fa.image)
            pa, pb = a.detect(fa.image, fa.time_s), b.detect(by_hand, fr.time_s)
            assert np.allclose(pa.image, pb.image, equal_nan=True)
    # and the person is upright: hips above ankles
    assert np.nanmean(pa.image[[23, 24], 1]) < np.nanmean(pa.image[[27, 28], 1])


def test_unmirror_swaps_sides_and_flips_x():
    from kneevision.pose.landmarker import PoseFrame, unmirror

    rng = np.random.default_rng(0)
    pf = PoseFrame(rng.random((33, 2)) * 100, rng.random(33), rng.random(33),
                   rng.random((33, 3)), 1)  # fmt: skip
    back = unmirror(pf, 100.0)
    assert back.image[26, 0] == pytest.approx(100 - pf.image[25, 0])  # left knee ↔ right knee
    assert back.world[26, 0] == pytest.approx(-pf.world[25, 0])
    assert back.visibility[26] == pf.visibility[25] and back.image[0, 1] == pf.image[0, 1]
    twice = unmirror(back, 100.0)
    assert np.allclose(twice.image, pf.image) and np.allclose(twice.world, pf.world)


@pytest.mark.slow
def test_people_count_beside_tracking_is_deterministic(shared_samples, monkeypatch):
    """The people count runs in a thread of its own; its answer is used a fixed number of
    frames later, so the switch to several poses, and every landmark, come out the same
    however slow the count is."""
    import time

    from kneevision.pose.landmarker import PROBE_LAG

    clip = shared_samples / "two_people_outdoor_backlit_U.mp4"
    frames = list(read_video(clip, stop_s=5.5))
    model = resolve_model("lite")
    count = PoseEstimator._count_people

    def run() -> tuple[np.ndarray, int | None]:
        with PoseEstimator(model, max_people=2) as est:
            out, switched = [], None
            for i, f in enumerate(frames):
                out.append(est.detect(f.image, f.time_s).image)
                if switched is None and est.multi_person:
                    switched = i
        return np.array(out), switched

    a, switched_a = run()
    monkeypatch.setattr(
        PoseEstimator, "_count_people", lambda self, *a: (time.sleep(0.1), count(self, *a))[1]
    )
    b, switched_b = run()
    assert switched_a is not None and switched_a == switched_b
    fps = len(frames) / frames[-1].time_s
    assert (switched_a - PROBE_LAG) % round(fps) <= 1  # a count made on a once-a-second frame
    assert np.array_equal(a, b, equal_nan=True)


@pytest.mark.slow
def test_flip_average_is_the_same_in_parallel_serially_and_frame_by_frame(shared_samples):
    """The mirrored landmarker's thread runs ahead of the direct one by a few frames; the
    answers must not depend on that (nor on the machine's timing): every landmark of the
    two-person clip, through the switch to several poses, is the same run in parallel,
    serially and one frame at a time."""
    from kneevision.pose.landmarker import MIRROR_LAG, FlipAveragedEstimator

    clip = shared_samples / "two_people_outdoor_backlit_U.mp4"
    frames = list(read_video(clip, stop_s=6.5))
    model = resolve_model("lite")

    def run(parallel: bool, by_frame: bool) -> tuple[np.ndarray, int | None]:
        with FlipAveragedEstimator(model, max_people=2, parallel=parallel) as est:
            if by_frame:
                poses = [est.detect(f.image, f.time_s) for f in frames]
            else:
                poses = [pf for _, pf in est.track(frames)]
            return np.array([p.image for p in poses]), est._direct.switched_at

    a, switched = run(parallel=True, by_frame=False)
    assert switched is not None and switched + MIRROR_LAG < len(frames)
    for parallel, by_frame in ((False, False), (True, True)):
        b, switched_b = run(parallel, by_frame)
        assert switched_b == switched
        assert np.array_equal(a, b, equal_nan=True), (parallel, by_frame)


def _person(x: float, y: float, size: float = 100.0) -> np.ndarray:
    """A crude (33, 2) skeleton: every landmark spread around a torso at (x, y)."""
    rng = np.random.default_rng(int(x))
    pts = np.column_stack(
        (x + rng.uniform(-1, 1, 33) * size / 2, y + rng.uniform(-1, 1, 33) * size)
    )
    pts[[11, 12, 23, 24]] = [[x - 20, y - 40], [x + 20, y - 40], [x - 15, y + 40], [x + 15, y + 40]]
    return pts


def test_mirrored_pose_averaged_in_is_the_followed_persons():
    """With several people in the mirror image, the one nearest the followed person (in
    the frame's own terms) is averaged in; when none is near, the direct pose stands."""
    from types import SimpleNamespace

    from kneevision.pose.landmarker import FlipAveragedEstimator, PoseFrame

    def pf(image: np.ndarray, people: int = 1) -> PoseFrame:
        return PoseFrame(image, np.ones(33), np.ones(33), np.zeros((33, 3)), people)

    est = object.__new__(FlipAveragedEstimator)
    followed = _person(300, 200)
    est._direct = SimpleNamespace(followed=followed)
    direct = pf(followed)
    near, other = pf(_person(304, 202), 2), pf(_person(700, 210), 2)
    for found in ([other, near], [near, other]):
        out = est._combine(direct, found)
        assert np.allclose(out.image, (followed + near.image) / 2) and out.people == 2
    assert est._combine(direct, [other]) is direct  # someone else: nothing averaged
    assert est._combine(direct, []) is direct
    # the direct stream lost the person this frame: matched to where it was last seen
    out = est._combine(PoseFrame.missing(0), [other, near])
    assert np.array_equal(out.image, near.image)


def test_streams_that_disagree_on_facing_are_not_averaged():
    """One stream took the body for its back (every left and right label exchanged):
    averaging would put each leg halfway between the two, so the frame keeps the pose
    whose labels face the camera, whichever stream found it."""
    from types import SimpleNamespace

    from kneevision.pose.landmarker import FlipAveragedEstimator, PoseFrame
    from kneevision.pose.sequence import MIRROR_PERMUTATION, facing_sign

    def pf(image: np.ndarray) -> PoseFrame:
        return PoseFrame(image, np.ones(33), np.ones(33), np.zeros((33, 3)), 1)

    back = _person(300, 200)  # its left shoulder and hip on the image left
    front = back[MIRROR_PERMUTATION]  # the same points, labelled facing the camera
    assert facing_sign(back) == -1 and facing_sign(front) == 1
    est = object.__new__(FlipAveragedEstimator)
    est._direct = SimpleNamespace(followed=front)
    for direct, mirrored in ((pf(front), pf(back)), (pf(back), pf(front))):
        out = est._combine(direct, [mirrored])
        assert np.array_equal(out.image, front)
    # agreeing streams are still averaged
    nudged = pf(front + 2.0)
    assert np.allclose(est._combine(pf(front), [nudged]).image, front + 1.0)

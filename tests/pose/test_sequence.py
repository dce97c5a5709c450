"""PoseSequence round trip and mirroring; person choice and counting."""

from __future__ import annotations

import numpy as np

from kneevision import synthetic as S
from kneevision.pose import PoseSequence, choose_person
from kneevision.pose.landmarker import count_people


def _seq() -> PoseSequence:
    scene = S.squat_scene(2)
    seq = scene.observe(S.Camera.facing([0, 0.6, 0]), dropout=0.1, seed=1)
    seq.meta = {"source": "x.mp4"}
    return seq


def test_save_load_round_trip(tmp_path):
    seq = _seq()
    seq.save(tmp_path / "p.npz")
    back = PoseSequence.load(tmp_path / "p.npz")
    assert len(back) == len(seq) and back.meta == seq.meta
    assert np.allclose(back.image, seq.image, equal_nan=True, atol=1e-3)
    assert back.frames_with_pose == seq.frames_with_pose < len(seq)
    assert not list(tmp_path.glob("*.part"))


def test_mirror_twice_is_identity_and_swaps_sides():
    seq = _seq()
    m = seq.mirrored()
    assert np.allclose(m.image[:, 23, 0], seq.width - seq.image[:, 24, 0], equal_nan=True)
    mm = m.mirrored()
    assert np.allclose(mm.image, seq.image, equal_nan=True)
    relabel = seq.mirrored(flip_coordinates=False)
    assert np.allclose(relabel.image[:, 23], seq.image[:, 24], equal_nan=True)


def test_choose_person_follows_nearest_and_counts_duplicates_once():
    a = np.zeros((33, 2))
    a[[11, 12, 23, 24]] = [[100, 100], [140, 100], [105, 200], [135, 200]]
    b = a + [400, 0]
    assert choose_person([b, a], previous=a + 3) == 1
    # with no history the largest (nearest) person is followed
    assert choose_person([a * 0.5, b + [0, -50]], previous=None) == 1
    assert count_people([a, a + 2, b]) == 2

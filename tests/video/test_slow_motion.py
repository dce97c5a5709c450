"""Slow motion: inference at a capped rate, the frames between interpolated.

The stride is a decision of the video layer (``read_video(max_fps=...)`` yields
every k-th frame with its true timestamp and records every frame's time); the
landmarks of the skipped frames come from :mod:`kneevision.pose.resample`. On a
240 fps clip, inference on 60 of its frames a second gives the same repetitions
as every-frame inference with peaks within 0.5°.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kneevision.pipeline import run_pose
from kneevision.pose import resolve_model
from kneevision.pose.resample import interpolate_rows, to_timeline
from kneevision.pose.sequence import PoseSequence
from kneevision.settings import Settings
from kneevision.video.source import inference_stride, read_video
from tests.helpers import synthetic_clip
from tests.video.phone_files import protocol_result, rep_peaks


@pytest.mark.parametrize(
    "fps,cap,stride",
    [(240, 60, 4), (239.76, 60, 4), (120, 60, 2), (100, 60, 2), (60, 60, 1), (60.5, 60, 1),
     (30, 60, 1), (240, 30, 8), (240, None, 1), (240, 0, 1), (0, 60, 1)],
)  # fmt: skip
def test_inference_stride(fps, cap, stride):
    assert inference_stride(fps, cap) == stride


def test_capped_read_yields_every_kth_frame_with_its_own_time(tmp_path):
    clip = synthetic_clip(tmp_path / "fast.mp4", seconds=1.0, fps=240, size="160x120")
    every = [(f.index, f.time_s) for f in read_video(clip, auto_rotate=False)]
    timeline: list[float] = []
    capped = [(f.index, f.time_s) for f in read_video(clip, auto_rotate=False, max_fps=60,
                                                     timeline=timeline)]  # fmt: skip
    assert len(every) == 240 and timeline == [t for _, t in every]
    assert [i for i, _ in capped] == list(range(0, 240, 4))
    assert capped == [every[i] for i in range(0, 240, 4)]
    # A clip at or below the cap is read whole.
    assert len(list(read_video(clip, auto_rotate=False, max_fps=240))) == 240


def test_capped_read_of_variable_frame_rate_keeps_the_slow_part_whole(tmp_path):
    clip = tmp_path / "vfr.mp4"
    # 60 frames at 240 fps, then 30 frames 1/30 s apart.
    synthetic_clip(clip, seconds=1.2, fps=240,
                   vf="setpts='if(lt(N,60),N/(240*TB),(60/240+(N-60)/30)/TB)'")  # fmt: skip
    timeline: list[float] = []
    t = np.array([f.time_s for f in read_video(clip, auto_rotate=False, max_fps=60,
                                               timeline=timeline)])  # fmt: skip
    fast = t[t < 0.25]
    assert np.allclose(np.diff(fast), 4 / 240, atol=1e-3)
    # Past the fast part (frames ~1/30 s apart) every frame is inferred.
    slow = [x for x in timeline if x > 0.26]
    assert len(slow) >= 20 and set(slow) <= set(t.tolist())
    assert len(timeline) > len(t)


def test_interpolate_rows_is_linear_exact_and_never_bridges_a_missing_pose():
    t_known = np.array([0.0, 1.0, 2.0, 3.0])
    values = np.array([[0.0, 10.0], [1.0, 20.0], [np.nan, 30.0], [3.0, 40.0]])
    t_all = np.array([-0.5, -2.0, 0.0, 0.25, 1.0, 1.5, 2.5, 3.0, 3.5, 9.0])
    got = interpolate_rows(t_known, values, t_all, hold_s=1.0)
    want = np.array([[0, 10], [np.nan, np.nan], [0, 10], [0.25, 12.5], [1, 20], [np.nan, 25],
                     [np.nan, 35], [3, 40], [3, 40], [np.nan, np.nan]])  # fmt: skip
    np.testing.assert_allclose(got, want)


def _moving_sequence(t: np.ndarray) -> PoseSequence:
    seq = PoseSequence.empty(t.size, 640, 360, 240.0)
    seq.time_s = t
    phase = 2 * np.pi * 0.4 * t  # a squat every 2.5 s
    seq.image[:] = 200 + 80 * np.sin(phase)[:, None, None] + np.arange(33)[None, :, None]
    seq.world[:] = 0.3 * np.cos(phase)[:, None, None]
    seq.visibility[:] = 0.9
    seq.presence[:] = 0.95
    seq.people[:] = 1
    return seq


def test_to_timeline_restores_every_frame_of_a_smooth_motion():
    t = np.arange(960) / 240.0
    full = _moving_sequence(t)
    keep = np.arange(0, 960, 4)
    inferred = _moving_sequence(t[keep])
    back = to_timeline(inferred, t.tolist())
    assert len(back) == 960 and np.array_equal(back.time_s, t)
    np.testing.assert_array_equal(back.image[keep], full.image[keep])  # inferred rows exact
    inside = slice(0, keep[-1] + 1)
    assert np.abs(back.image[inside] - full.image[inside]).max() < 0.05  # px, between them
    assert np.abs(back.world[inside] - full.world[inside]).max() < 1e-3
    # After the last inferred frame (3 frames, 12 ms) its pose is held.
    assert (back.image[keep[-1] :] == full.image[keep[-1]]).all()
    assert (back.people == 1).all() and back.meta["inferred_frames"] == 240
    assert back.meta["inference_fps"] == pytest.approx(60.0)
    # Nothing skipped: the same object back.
    assert to_timeline(full, t) is full


#: 240 fps slow motion of the bundled clip's first 4.5 s (see data/PROVENANCE.md).
SLOW_240 = Path(__file__).parent / "data" / "squat_240fps.mp4"


@pytest.mark.slow
def test_240_fps_at_a_60_fps_cap_gives_the_same_reps_and_peaks_within_half_a_degree():
    # The default (flip-averaged) estimator: a single pass of the lite model jitters by
    # about 1° from frame to frame, so any two frame subsets give peaks ~1° apart.
    # Through the pipeline's own pose stage, as `analyze` runs it.
    model = resolve_model("lite")
    every, f_every = run_pose(SLOW_240, model, Settings(model="lite", max_inference_fps=0.0))
    capped, f_capped = run_pose(SLOW_240, model, Settings(model="lite"))  # default cap: 60
    assert (f_every["frames_inferred"], f_capped["frames_inferred"]) == (1080, 270)
    assert len(capped) == len(every) and np.array_equal(capped.time_s, every.time_s)
    settings = Settings(model="lite")
    ref, got = protocol_result(every, settings), protocol_result(capped, settings)
    assert (got.protocol, got.view) == (ref.protocol, ref.view) == ("squat", "front")
    peaks_ref, peaks = rep_peaks(ref), rep_peaks(got)
    assert sorted(peaks) == sorted(peaks_ref) and len(peaks) == 4
    assert [e["time_s"] for e in got.events] == pytest.approx(
        [e["time_s"] for e in ref.events], abs=0.05
    )
    for key, value in peaks_ref.items():
        assert peaks[key] == pytest.approx(value, abs=0.5), key

"""Video reading: rotation metadata, real timestamps, bad files, H.264 writing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kneevision.errors import VideoError
from kneevision.video import VideoWriter, prefetch, probe_video, read_image_folder, read_video
from tests.conftest import BUNDLED, synthetic_clip


def test_rotated_clip_comes_out_upright(shared_samples):
    info = probe_video(shared_samples / "front_goblet_squat_home_A_rotated.mp4")
    assert (info.width, info.height) == (1280, 720)
    assert info.rotation in (90, 270)
    first = next(read_video(shared_samples / "front_goblet_squat_home_A_rotated.mp4"))
    assert first.image.shape == (720, 1280, 3)
    raw = next(
        read_video(shared_samples / "front_goblet_squat_home_A_rotated.mp4", auto_rotate=False)
    )
    assert raw.image.shape == (1280, 720, 3)


def test_portrait_clip_keeps_portrait(shared_samples):
    info = probe_video(shared_samples / "side_barbell_squat_portrait_gym_B.mp4")
    assert (info.width, info.height) == (480, 854)


def test_variable_frame_rate_timestamps(tmp_path):
    clip = tmp_path / "vfr.mp4"
    # 30 frames at 30 fps, then frames every 2/30 s.
    synthetic_clip(
        clip, seconds=2, fps=30, vf="setpts='if(lt(N,30),N/(30*TB),(30+(N-30)*2)/(30*TB))'"
    )
    t = np.array([f.time_s for f in read_video(clip)])
    dt = np.diff(t)
    assert np.allclose(dt[:29], 1 / 30, atol=1e-3)
    assert np.allclose(dt[30:], 2 / 30, atol=1e-3)
    assert (dt > 0).all()


@pytest.mark.parametrize(
    "make,problem",
    [
        (lambda p: p, "file not found"),
        (lambda p: (p.mkdir(), p)[1], "is a directory"),
        (lambda p: (p.write_bytes(b""), p)[1], "empty"),
        (lambda p: (p.write_text("hello, not a video\n" * 50), p)[1], "not a readable video"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path, make, problem):
    path = make(tmp_path / "clip.mp4")
    with pytest.raises(VideoError, match=problem) as exc:
        probe_video(path)
    assert str(path) in str(exc.value)


def test_truncated_video_is_an_error(tmp_path):
    data = BUNDLED.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(VideoError, match=r"truncated|corrupt|not a readable"):
        probe_video(cut)
        for _ in read_video(cut):
            pass


def test_image_folder_and_prefetch(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), np.full((40, 60, 3), i * 50, np.uint8))
    frames = list(prefetch(read_image_folder(tmp_path, fps=10)))
    assert [f.time_s for f in frames] == [0.0, 0.1, 0.2]
    assert frames[2].image[0, 0, 0] == 100
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VideoError, match="no images"):
        list(read_image_folder(empty))


def test_prefetch_reraises_producer_errors():
    def bad():
        yield 1
        raise VideoError("boom")

    it = prefetch(bad())
    assert next(it) == 1
    with pytest.raises(VideoError, match="boom"):
        next(it)


def test_writer_h264_odd_size(tmp_path):
    out = tmp_path / "o.mp4"
    with VideoWriter(out, 25, (101, 51)) as w:
        for i in range(10):
            w.write(np.full((51, 101, 3), i * 20, np.uint8))
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode()
    assert fourcc.lower() in ("avc1", "h264")

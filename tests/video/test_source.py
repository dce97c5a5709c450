"""Video reading: rotation metadata, real timestamps, bad files, H.264 writing."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from kneevision.errors import VideoError
from kneevision.video import (
    VideoWriter,
    check_decoding,
    prefetch,
    probe_video,
    read_image_folder,
    read_video,
)
from kneevision.video.orientation import decide, torso_uprightness, turn_image
from tests.helpers import BUNDLED, synthetic_clip
from tests.video.phone_files import cut_short, declare_more_frames


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
        (lambda p: (os.mkfifo(p), p)[1], r"is a pipe \(FIFO\), not a video file"),
        (lambda p: (synthetic_clip(p), p.chmod(0), p)[2], r"permission denied"),
        (lambda p: synthetic_clip(p, size="8x8"), r"absurd frame size 8×8"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path, make, problem):
    path = make(tmp_path / "clip.mp4")
    with pytest.raises(VideoError, match=problem) as exc:
        probe_video(path)
    assert str(path) in str(exc.value)


def test_stream_without_a_decodable_frame_names_its_codec(tmp_path):
    whole = synthetic_clip(tmp_path / "whole.mp4")
    clip = tmp_path / "clip.mp4"
    data = bytearray(whole.read_bytes())
    at = data.find(b"mdat") + 4  # every frame's data zeroed, the index intact
    end = at - 8 + int.from_bytes(data[at - 8 : at - 4], "big")
    data[at:end] = bytes(end - at)
    clip.write_bytes(bytes(data))
    with pytest.raises(VideoError, match=r"no frame could be decoded \(codec h264: "):
        probe_video(clip)


def test_header_declaring_more_frames_than_the_stream_is_decoded_whole(tmp_path):
    # A stream copy from 1.7 s keeps the packets back to the previous keyframe, and an
    # edit list hides them: the header counts them, decoding (rightly) does not.
    clip = declare_more_frames(BUNDLED, tmp_path / "editlist.mp4", start_s=1.7, seconds=6)
    info = probe_video(clip)
    t = np.array([f.time_s for f in read_video(clip)])  # no error raised
    assert info.frames > t.size + 10
    assert t[-1] == pytest.approx(6.0, abs=0.1)
    dec = check_decoding(clip, info, t)
    assert dec["frames_declared"] == info.frames and dec["frames_decoded"] == t.size
    assert not dec["damaged"] and dec["failed_at_s"] is None and dec["gaps"] == []


def test_cut_file_decodes_up_to_the_cut_and_says_where(tmp_path):
    clip = cut_short(BUNDLED, tmp_path / "cut.mp4", seconds=6, keep=0.6)
    info = probe_video(clip)
    t = np.array([f.time_s for f in read_video(clip)])
    assert 1.0 < t[-1] < 5.5  # part of it, not all
    dec = check_decoding(clip, info, t)
    assert dec["damaged"] and dec["errors"]
    assert dec["failed_at_s"] == pytest.approx(t[-1] + 1 / 30, abs=0.01)
    whole = cut_short(BUNDLED, tmp_path / "whole.mp4", seconds=6, keep=1.0)
    assert check_decoding(whole, probe_video(whole), [f.time_s for f in read_video(whole)]) == {
        "frames_declared": 180,
        "frames_decoded": 180,
        "damaged": False,
        "errors": [],
        "failed_at_s": None,
        "gaps": [],
    }


def test_orientation_decision_keeps_a_right_tag_and_turns_a_wrong_one():
    # Torso pointing up, right (a clip stored sideways) and down.
    body = np.zeros((33, 2))
    body[[11, 12]], body[[23, 24]] = (100, 50), (100, 150)
    assert torso_uprightness(body) == pytest.approx(1.0)
    assert torso_uprightness(body[:, ::-1]) == pytest.approx(0.0)
    assert decide({0: 3, 90: 4, 180: 0, 270: 0}, 4).turn == 0  # upright as decoded: kept
    assert decide({0: 0, 90: 1, 180: 0, 270: 4}, 4).turn == 270
    assert decide({0: 1, 90: 1, 180: 1, 270: 1}, 4).turn == 0  # nothing clear: kept
    img = np.arange(6, dtype=np.uint8).reshape(2, 3, 1).repeat(3, axis=2)
    assert turn_image(img, 90).shape == (3, 2, 3)
    assert (turn_image(turn_image(img, 90), 270) == img).all()
    assert (turn_image(img, 180)[0, 0] == img[-1, -1]).all()


def test_orientation_is_probed_once_per_file_until_forgotten(tmp_path, monkeypatch):
    from kneevision.video import orientation

    clip = synthetic_clip(tmp_path / "room.mp4", seconds=0.5)
    calls = []
    monkeypatch.setattr(orientation, "probe_frames", lambda path: calls.append(path) or [])
    orientation.forget_orientations()
    first = orientation.detect_orientation(clip)
    assert orientation.detect_orientation(clip) == first and len(calls) == 1  # cached
    orientation.forget_orientations()
    orientation.detect_orientation(clip)
    assert len(calls) == 2  # probed again, as a new process would
    orientation.forget_orientations()  # leave no stub's answer behind for other tests


def test_unreadable_cut_file_is_an_error(tmp_path):
    # The bundled clip keeps its index at the end: cut, nothing at all decodes.
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


def test_writer_keeps_colours(tmp_path):
    # The writer hands ffmpeg yuv420p converted by OpenCV: blue, green, red and grey
    # blocks must come back as themselves (a U/V swap would turn red into blue).
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128)]
    frame = np.zeros((64, 257, 3), np.uint8)
    for k, c in enumerate(colours):
        frame[:, 64 * k : 64 * (k + 1)] = c
    out = tmp_path / "c.mp4"
    with VideoWriter(out, 25, (257, 64)) as w:
        for _ in range(3):
            w.write(frame)
    ok, back = cv2.VideoCapture(str(out)).read()
    assert ok
    for k, c in enumerate(colours):
        got = back[16:48, 64 * k + 16 : 64 * k + 48].reshape(-1, 3).mean(axis=0)
        assert np.abs(got - c).max() < 20, (c, got)

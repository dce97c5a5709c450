"""The codec/container matrix: the bundled clip as phones and apps write it.

The first 4.5 s of the bundled squat clip (two bottoms, at 1.1 and 3.5 s) as
HEVC 8-bit in MOV and 10-bit with HDR tags (PQ in MP4, HLG in MOV, tagged
``hvc1``), VP9 in WebM, AV1 in MKV, MJPEG in AVI, variable frame rate, 15 fps,
with an audio track, with a second video stream, at an odd size (853×479), in
4K and as 120 and 240 fps slow motion. All decode with OpenCV's FFmpeg (no
fallback needed); each goes through ``python -m kneevision analyze`` (one
process for all, lite model, ``--fast``: decoding is what is tested) and must
give the original's protocol, view and repetitions, every frame decoded and no
damage flag.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import imageio_ffmpeg
import pytest

from tests.helpers import BUNDLED, REPO
from tests.video.phone_files import MATRIX, matrix_variant

pytestmark = pytest.mark.slow

SECONDS = 4.5
#: Frames each variant must decode (30 fps unless named otherwise).
FRAMES = {"fps15": 68, "vfr": 81, "slow120": 540, "slow240": 1080}
SIZES = {
    "odd_size": (853, 479),
    "uhd4k": (3840, 2160),
    "slow120": (640, 360),
    "slow240": (640, 360),
}
CODECS = {"hevc": "hevc", "vp9": "VP90", "av1": "AV01", "mjpeg": "MJPG"}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> dict[str, dict]:
    """summary.json of each variant's analysis."""
    root = tmp_path_factory.mktemp("matrix")
    clips = {name: matrix_variant(name, BUNDLED, root, SECONDS) for name in MATRIX}
    out = root / "out"
    cmd = [sys.executable, "-m", "kneevision", "analyze", "--model", "lite", "--fast"]
    cmd += ["--no-report", "--no-overlay", "-q", "--out", str(out), *map(str, clips.values())]
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0 and not run.stderr, run.stderr[-3000:]
    summaries = {}
    for name, clip in clips.items():
        with open(out / f"{clip.stem}_kneevision" / "summary.json") as fh:
            summaries[name] = json.load(fh)
        summaries[name]["_file"] = str(clip)
    return summaries


def bottoms(summary: dict) -> list[float]:
    return [e["time_s"] for e in summary["events"] if e["kind"] == "bottom"]


def reps(summary: dict) -> list[tuple[str, int]]:
    return sorted((r["side"], r["rep"]) for r in summary["reps"])


def test_original_is_two_squats(matrix):
    s = matrix["h264"]
    assert (s["protocol"], s["view"]) == ("squat", "front")
    assert bottoms(s) == pytest.approx([1.15, 3.55], abs=0.2)
    assert reps(s) == [("left", 1), ("left", 2), ("right", 1), ("right", 2)]


@pytest.mark.parametrize("name", [n for n in MATRIX if n != "h264"])
def test_variant_gives_the_original_protocol_and_repetitions(matrix, name):
    s, ref = matrix[name], matrix["h264"]
    assert (s["protocol"], s["view"]) == (ref["protocol"], ref["view"]), s["detection"]
    assert reps(s) == reps(ref)
    assert bottoms(s) == pytest.approx(bottoms(ref), abs=0.15)
    codes = {f["code"] for f in s["quality"]}
    assert "video_damaged" not in codes and "turned_upright" not in codes


@pytest.mark.parametrize("name", list(MATRIX))
def test_variant_decodes_every_frame_at_its_size(matrix, name):
    info = matrix[name]["input"]
    assert info["frames_decoded"] == FRAMES.get(name, 135)
    assert (info["width"], info["height"]) == SIZES.get(name, (1280, 720))
    assert info["decoding"]["damaged"] is False
    codec = next((c for k, c in CODECS.items() if name.startswith(k)), "h264")
    assert info["codec"] == codec


def test_hevc_files_carry_the_apple_tag_and_hdr_colour(matrix):
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    for name, trc in (("hevc8_mov", None), ("hevc10_pq_mp4", "smpte2084"),
                      ("hevc10_hlg_mov", "arib-std-b67")):  # fmt: skip
        run = subprocess.run([exe, "-hide_banner", "-i", matrix[name]["_file"]],
                             capture_output=True, text=True, check=False)  # fmt: skip
        stream = next(line for line in run.stderr.splitlines() if "Video:" in line)
        assert "(hvc1" in stream, stream
        if trc:
            assert re.search(rf"yuv420p10le\(tv, bt2020nc/bt2020/{trc}", stream), stream


def test_slow_motion_timeline_is_real_time(matrix):
    for name, fps in (("slow120", 120), ("slow240", 240)):
        info = matrix[name]["input"]
        assert info["fps"] == pytest.approx(fps, rel=0.01)
        assert info["frames_decoded"] / fps == pytest.approx(SECONDS, abs=0.05)

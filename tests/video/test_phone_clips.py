"""Whole analyses of the bundled clip re-encoded as phones and apps deliver it.

Sideways and upside down without a rotation tag, a header that declares more
frames than the stream holds, a file cut short: the same protocol and
repetitions as the original's first seconds, and a flag saying what was done.
"""

from __future__ import annotations

import re

import pytest

from kneevision.settings import Settings
from tests.helpers import BUNDLED
from tests.video.phone_files import analysed_summary, cut_short, declare_more_frames, reencode

pytestmark = pytest.mark.slow  # five analyses (pose inference) of re-encoded clips

SECONDS = 5.0


@pytest.fixture(scope="module")
def phone_clips(tmp_path_factory) -> dict[str, dict]:
    """Summary of each variant's analysis (lite model, no overlay or report)."""
    root = tmp_path_factory.mktemp("phone")
    clips = {
        "original": reencode(BUNDLED, root / "original.mp4", SECONDS),
        # transpose=clock turns the picture 90° clockwise: the body lies on its side.
        "sideways": reencode(BUNDLED, root / "sideways.mp4", SECONDS, "transpose=clock"),
        "upside_down": reencode(BUNDLED, root / "upside_down.mp4", SECONDS, "vflip,hflip"),
        "editlist": declare_more_frames(BUNDLED, root / "editlist.mp4", 1.7, SECONDS),
        "cut": cut_short(BUNDLED, root / "cut.mp4", 6.0, keep=0.6),
    }
    settings = Settings(model="lite", overlay=False, report=False)
    return {k: analysed_summary(p, root / "out", settings) for k, p in clips.items()}


def bottoms(summary: dict) -> list[float]:
    return [e["time_s"] for e in summary["events"] if e["kind"] == "bottom"]


def codes(summary: dict) -> set[str]:
    return {f["code"] for f in summary["quality"]}


def test_original_first_seconds_is_a_squat_kept_as_decoded(phone_clips):
    s = phone_clips["original"]
    assert s["protocol"] == "squat"
    assert len(bottoms(s)) == 2  # expected.tsv: bottoms near 1.1 and 3.5 s
    assert s["input"]["upright_turn"] == 0 and "turned_upright" not in codes(s)


@pytest.mark.parametrize("name,turn", [("sideways", 270), ("upside_down", 180)])
def test_untagged_sideways_or_upside_down_clip_is_turned_upright(phone_clips, name, turn):
    s, ref = phone_clips[name], phone_clips["original"]
    assert (s["input"]["width"], s["input"]["height"]) == (1280, 720)
    assert s["input"]["upright_turn"] == turn and s["input"]["upright_check"]
    assert "turned_upright" in codes(s)
    assert s["protocol"] == "squat", s["detection"]
    assert bottoms(s) == pytest.approx(bottoms(ref), abs=0.2)


def test_header_mismatch_is_analysed_whole_without_a_flag(phone_clips):
    s = phone_clips["editlist"]
    assert s["input"]["frames"] > s["input"]["frames_decoded"] + 10
    assert s["input"]["decoding"]["damaged"] is False
    assert "video_damaged" not in codes(s)
    # Starting 1.7 s into the original: its bottoms at 3.5 and 6.0 s.
    assert s["protocol"] == "squat"
    assert bottoms(s) == pytest.approx([3.5 - 1.7, 6.0 - 1.7], abs=0.3)


def test_cut_file_is_analysed_up_to_the_cut_and_flagged_with_the_time(phone_clips):
    s = phone_clips["cut"]
    failed = s["input"]["decoding"]["failed_at_s"]
    assert failed is not None and 1.5 < failed < 5.5
    msg = next(f["message"] for f in s["quality"] if f["code"] == "video_damaged")
    assert re.search(rf"failed at {failed:.1f} s", msg)
    assert s["frames_with_pose"] <= s["input"]["frames_decoded"] < s["input"]["frames"]
    assert s["protocol"] == "squat" and bottoms(s)[0] == pytest.approx(1.1, abs=0.3)

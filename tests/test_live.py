"""`kneevision live`: the loop's parts, headless, and a real window under Xvfb."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from kneevision.kinematics.landmarks import LEGS
from kneevision.live import (
    KEY_CALIBRATE,
    LatestFrame,
    LiveSession,
    LiveState,
    RepCounter,
    TwistGuide,
    handle_key,
    paced,
    write_session,
)
from kneevision.pose import resolve_model
from kneevision.settings import LIVE_DEFAULTS, Settings
from kneevision.style import SIDE_BGR
from kneevision.video.source import Frame, probe_video, read_video
from tests.helpers import BUNDLED, REPO


def kv(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kneevision", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
        **kw,
    )


def test_keys():
    s = LiveState()
    for key, check in (
        (ord(" "), lambda: s.recording),
        (ord("m"), lambda: s.mirror),
        (ord("c"), lambda: s.calibrate_requested),
    ):
        handle_key(s, key)
        assert check()
    handle_key(s, ord(" "))
    assert not s.recording
    handle_key(s, -1)  # no key
    assert not s.quit
    handle_key(s, 27)  # Esc
    assert s.quit
    s2 = LiveState()
    handle_key(s2, ord("q") | 0x100000)  # waitKey may add modifier bits
    assert s2.quit


def test_latest_frame_drops_stale_frames_never_the_newest():
    frames = (Frame(i, i / 30, np.zeros((2, 2, 3), np.uint8)) for i in range(200))
    cap = LatestFrame(frames)
    seen = []
    while (item := cap.get()) is not None:
        seen.append(item[0].index)
        time.sleep(0.002)  # a slow consumer
    assert seen == sorted(seen) and seen[-1] == 199
    assert cap.captured == 200 and cap.dropped == 200 - len(seen)


def test_paced_release_follows_timestamps():
    frames = [Frame(i, i * 0.05, np.zeros((2, 2, 3), np.uint8)) for i in range(10)]
    t0 = time.monotonic()
    out = list(paced(iter(frames)))
    assert len(out) == 10 and time.monotonic() - t0 >= 0.44


def test_rep_counter_hysteresis():
    c = RepCounter()
    flex = [
        10,
        30,
        55,
        80,
        60,
        30,
        24,
        40,
        45,
        20,
        60,
        90,
        10,
    ]  # 2 full reps; the 45 dip is not one
    done = [c.update({"left": f, "right": f - 5}) for f in flex]
    assert c.count == 2 and sum(done) == 2
    assert c.last == {"left": 90, "right": 85}


def test_twist_guide_walks_through_both_legs():
    g = TwistGuide()
    assert "calibrate" in g.prompt()
    g.calibrate({"left": 2.0, "right": -1.0})
    for side, rel, expect in (
        ("left", +15, "left leg: twist the foot outward"),
        ("left", -25, "right leg: twist the foot inward"),
        ("right", +5, "right leg: twist the foot outward"),  # a small IR is an IR too
        ("right", -30, "IR left 15°"),
    ):
        theta = {"left": 2.0, "right": -1.0}
        theta[side] += rel
        g.update(theta)
        assert not g.prompt().startswith(expect)  # still turning: not done yet
        g.update({"left": 2.0, "right": -1.0})  # back to neutral: that twist is done
        assert g.prompt().startswith(expect), g.prompt()
    assert "L-R +10°" in g.prompt()


def test_guided_twist_reads_what_the_clip_analysis_reads(quick_validation, tmp_path):
    """The guide follows the forefeet's pixels from its calibration, as ``analyze`` does
    from the still start: on a rendered twist (true IR 18° left, 8° right) replayed as a
    camera, its IR and ER per leg agree with the clip's analysis and the truth."""
    out, _ = quick_validation
    clip = out / "renders" / "quick-twist.mp4"
    analysed = json.loads(
        (out / "analyses" / "quick-twist_kneevision" / "summary.json").read_text()
    )
    truth = json.loads(clip.with_suffix(".truth.json").read_text())["params"]
    info = probe_video(clip)
    shown = 0

    def show(image):  # c pressed once, in the still start
        nonlocal shown
        shown += 1
        return KEY_CALIBRATE if shown == round(0.9 * info.fps) else -1

    settings = Settings.from_dict({**LIVE_DEFAULTS, "model": "full"})
    session = LiveSession(read_video(clip), info, resolve_model("full"), show=show, guide=True,
                          settings=settings, every_frame=True)  # fmt: skip
    session.run()
    assert session.twist.follower is not None  # the pixels were followed
    g = session.guide
    assert g.step == 5, g.prompt()  # both legs twisted in and out: the guide finished
    for side in ("left", "right"):
        sides = analysed["sides"][side]
        for got, metric in ((g.ir, "internal_rotation_deg"), (g.er, "external_rotation_deg")):
            # Not closer: the clip's 2.5 Hz low-pass flattens this quick twist's 0.3 s holds.
            assert got[side] == pytest.approx(sides[metric]["value"], abs=4.0), (side, metric)
        assert g.ir[side] == pytest.approx(truth["internal_deg"][side], abs=3.0), side
        assert g.er[side] == pytest.approx(truth["external_deg"][side], abs=4.0), side
    assert g.ir["left"] - g.ir["right"] > 6.0  # the right leg's IR deficit shows
    # The saved session is analysed from the calibration on, with the guide's forefeet.
    settings = Settings.from_dict({**LIVE_DEFAULTS, "model": "full", "protocol": "seated-twist"})
    done = write_session(session, tmp_path, label="twist", elapsed_s=1.0, settings=settings)
    assert (tmp_path / "forefoot.npz").is_file() and done.result.protocol == "seated-twist"
    assert len(done.pose) == len(session.frames) - session.test_start
    for side in ("left", "right"):
        saved = done.result.sides[side]
        assert saved["internal_rotation_deg"]["value"] == pytest.approx(g.ir[side], abs=1.5)
        assert saved["external_rotation_deg"]["value"] == pytest.approx(g.er[side], abs=2.5)


@pytest.mark.slow
def test_headless_session_writes_the_same_outputs(tmp_path, validate_summary):
    # --every-frame: no frame is dropped however busy the machine, so the result is fixed.
    p = kv("live", "--source", str(BUNDLED), "--headless", "--seconds", "5", "--report",
           "--every-frame", "--out", str(tmp_path))  # fmt: skip
    out, err = p.communicate(timeout=180)
    assert p.returncode == 0, err
    folder = tmp_path / f"{BUNDLED.stem}_kneevision"
    names = {f.name for f in folder.iterdir()}
    assert {"summary.json", "angles.csv", "reps.csv", "overlay.mp4", "report.html"} <= names
    s = validate_summary(folder / "summary.json")
    assert s["protocol"] == "squat"
    bottoms = [e["time_s"] for e in s["events"] if e["kind"] == "bottom"]
    assert bottoms == pytest.approx([1.1, 3.5], abs=0.4)  # the clip's first two reps
    live = s["input"]["live"]
    assert live["frames"] == s["input"]["frames_decoded"] > 100
    assert live["latency_ms_p95"] > 0
    assert "latency p50" in out


@pytest.mark.slow  # two `kneevision live` processes (about 12 s)
def test_no_display_and_no_camera_give_one_line_errors(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    p = subprocess.run(
        [sys.executable, "-m", "kneevision", "live", "--source", str(BUNDLED), "--out",
         str(tmp_path)], capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "--headless" in lines[0] and "display" in lines[0]
    p = kv("live", "--camera", "7", "--headless", "--out", str(tmp_path))
    _, err = p.communicate(timeout=120)
    assert p.returncode == 1 and len(err.strip().splitlines()) == 1
    assert "camera 7" in err and "not found or busy" in err
    assert not list(tmp_path.iterdir())


@pytest.fixture
def xvfb():
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is missing: `make test` installs it (Debian package xvfb)")
    display = f":{90 + os.getpid() % 9}"
    proc = subprocess.Popen(["Xvfb", display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(1.0)
    yield display
    proc.terminate()
    proc.wait(timeout=10)


def _window(display: str, timeout: float = 60.0) -> tuple[str, int, int]:
    """Wait for the live window; its id and top-left corner on the screen."""
    env = {**os.environ, "DISPLAY": display}
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = subprocess.run(["xdotool", "search", "--name", "KneeVision live"],
                           capture_output=True, text=True, env=env)  # fmt: skip
        if r.stdout.strip():
            wid = r.stdout.split()[0]
            geo = subprocess.run(["xdotool", "getwindowgeometry", "--shell", wid],
                                 capture_output=True, text=True, env=env).stdout  # fmt: skip
            vals = dict(line.split("=") for line in geo.split())
            return wid, int(vals["X"]), int(vals["Y"])
        time.sleep(0.3)
    raise AssertionError("the live window did not appear")


@pytest.mark.slow
def test_window_under_xvfb_shows_the_overlay_and_quits_on_q(xvfb, tmp_path, all_clips_analyzed):
    import imageio_ffmpeg

    p = kv("live", "--source", str(BUNDLED), "--out", str(tmp_path), env={"DISPLAY": xvfb})
    try:
        wid, x0, y0 = _window(xvfb)
        shot = tmp_path / "screen.png"
        # Screenshots until the skeleton shows in both side colours (however long the model
        # takes to start on a busy machine), at most a minute.
        end = time.monotonic() + 60
        while True:
            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-f",
                            "x11grab", "-video_size", "1600x1000", "-i", xvfb, "-frames:v", "1",
                            str(shot)], check=True)  # fmt: skip
            screen = cv2.imread(str(shot))
            drawn = [(screen == np.array(c, np.uint8)).all(axis=2).sum() for c in SIDE_BGR.values()]
            if min(drawn) > 100 or time.monotonic() > end or p.poll() is not None:
                break
            time.sleep(0.5)
        subprocess.run(["xdotool", "key", "--window", wid, "q"], check=True,
                       env={**os.environ, "DISPLAY": xvfb})  # fmt: skip
        _, err = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 0, err
    # where the legs are in this clip (from its analysis), in screen pixels
    pose = np.load(all_clips_analyzed / f"{BUNDLED.stem}_kneevision" / "pose.npz")["image"]
    legs = pose[:, LEGS]
    lo, hi = np.nanmin(legs, axis=(0, 1)), np.nanmax(legs, axis=(0, 1))
    for side, bgr in SIDE_BGR.items():
        ys, xs = np.nonzero((screen == np.array(bgr, np.uint8)).all(axis=2))
        assert xs.size > 100, (side, xs.size)  # the skeleton is drawn in the side colour
        cx, cy = np.median(xs) - x0, np.median(ys) - y0
        assert lo[0] - 60 < cx < hi[0] + 60 and lo[1] - 60 < cy < hi[1] + 60, (side, cx, cy)
    assert (tmp_path / f"{BUNDLED.stem}_kneevision" / "summary.json").is_file()

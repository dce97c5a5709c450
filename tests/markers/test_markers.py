"""Marker mode: the printed sheet's scale, pose ambiguity, accuracy on synthetic renders."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from kneevision.markers.core import (
    MarkerPose,
    choose_pose,
    detect,
    rotation_angle,
    tibial_rotation_from_markers,
)
from kneevision.markers.render import FACING, measure_twist_error, rot_y
from kneevision.markers.sheet import write_sheet
from tests.conftest import REPO


@pytest.mark.parametrize("size_mm", [30.0, 40.0, 50.0])
def test_printed_sheet_is_true_to_scale(tmp_path, size_mm):
    pdf = write_sheet(tmp_path / "m.pdf", size_mm)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info)
    subprocess.run(["pdftoppm", "-r", "300", "-png", str(pdf), str(tmp_path / "p")], check=True)
    page = cv2.imread(str(next(tmp_path.glob("p*.png"))))
    found = detect(page)
    assert sorted(found) == [0, 1, 2, 3]
    for corners in found.values():
        side_px = np.mean([np.linalg.norm(corners[i] - corners[(i + 1) % 4]) for i in range(4)])
        assert side_px / 300 * 25.4 == pytest.approx(size_mm, abs=0.3)
    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    row = gray[int(page.shape[0] - (62 + 1.5) / 25.4 * 300)]  # through the 50 mm bar
    dark = np.flatnonzero(row < 60)
    assert (dark.max() - dark.min() + 1) / 300 * 25.4 == pytest.approx(50.0, abs=0.3)


def test_ambiguity_resolved_by_continuity():
    a, b = FACING @ rot_y(20), FACING @ rot_y(-20)
    pa, pb = MarkerPose(a, np.zeros(3), 0.5, False), MarkerPose(b, np.zeros(3), 0.6, False)
    prev = MarkerPose(FACING @ rot_y(-15), np.zeros(3), 0.5, False)
    assert choose_pose([pa, pb], prev) is pb  # nearly equal errors: the continuous one
    assert choose_pose([MarkerPose(a, np.zeros(3), 0.1, False), pb], prev).rotation is a  # decisive
    first = choose_pose([pa, pb], None)  # no history, no decisive error: kept, but marked
    assert first.ambiguous
    assert min(rotation_angle(first.rotation, a), rotation_angle(first.rotation, b)) < 1e-6


def test_internal_rotation_positive_for_both_legs():
    thigh = [FACING] * 3
    for side, sign in (("right", 1.0), ("left", -1.0)):
        shin = [FACING @ rot_y(sign * a) for a in (0.0, 10.0, 25.0)]
        assert np.allclose(tibial_rotation_from_markers(shin, thigh, side), [0, 10, 25])


@pytest.mark.parametrize("side", ["right", "left"])
def test_accuracy_50mm_at_half_a_metre(side):
    """The issue's target (median ≤ 1°, p95 ≤ 2°) holds at 50 mm / 0.5 m; the benchmark
    prints where it does not (smaller markers, farther away)."""
    _, err, seen = measure_twist_error(0.05, 0.5, side=side, seed=3)
    e = np.abs(err[np.isfinite(err)])
    assert seen == 1.0
    assert np.median(e) <= 1.0 and np.percentile(e, 95) <= 2.0, (np.median(e), np.percentile(e, 95))


def test_hidden_marker_gives_gaps_and_a_flag():
    from kneevision.markers.analysis import marker_result, track
    from kneevision.markers.render import camera_matrix, render, twist_angles, twist_sequence
    from kneevision.video.source import Frame

    camera = camera_matrix(1000, 1280, 720)
    truth = twist_angles()
    frames = []
    for i, placed in enumerate(twist_sequence(truth, size_m=0.05, distance_m=0.6)):
        hide = 40 <= i < 60
        frames.append(Frame(i, i / 30, render(placed[1:] if hide else placed, camera, (1280, 720))))
    tr = track(frames, 0.05, camera)
    r = tr.rotation["right"]
    assert np.isnan(r[42:58]).all() and np.isfinite(r[:40]).all()
    result = marker_result(tr)
    assert "markers_hidden" in result.flag_codes()


def test_analyze_with_markers_end_to_end(tmp_path):
    from kneevision.markers.render import camera_matrix, render, twist_sequence
    from kneevision.video.writer import VideoWriter

    camera = camera_matrix(1000, 1280, 720)  # 65.2° horizontal field of view
    t = np.arange(0, 9, 1 / 30)
    u = np.sin(2 * np.pi * (t - 1.5) / 2.5)
    truth = np.where(t < 1.5, 0.0, np.where(u > 0, 20 * u, 30 * u))
    rng = np.random.default_rng(0)
    clip = tmp_path / "knee_markers.mp4"
    with VideoWriter(clip, 30, (1280, 720), crf=18) as w:
        for placed in twist_sequence(truth, size_m=0.04, distance_m=0.6):
            w.write(render(placed, camera, (1280, 720), rng=rng, blur_px=0.5, noise=2))
    r = subprocess.run(
        [sys.executable, "-m", "kneevision", "analyze", str(clip), "--protocol", "seated-twist",
         "--markers", "--marker-size-mm", "40", "--fov-deg", "65.2", "--model", "lite",
         "--no-overlay", "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "markers right" in r.stdout
    out = tmp_path / "knee_markers_kneevision"
    s = json.loads((out / "summary.json").read_text())
    right = s["markers"]["sides"]["right"]
    assert abs(right["internal_rotation_deg"]["value"] - 20) < 3.0
    assert abs(right["external_rotation_deg"]["value"] - 30) < 3.0
    assert right["cycles"]["value"] == 3
    assert s["markers"]["sides"]["left"] == {"tested": False}
    assert (out / "markers.csv").is_file() and "Markers and markerless" in (
        out / "report.html"
    ).read_text()

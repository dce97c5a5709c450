"""Marker mode: the printed sheet's scale, pose ambiguity, accuracy on synthetic renders."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from kneevision.markers.calibration import (
    BOARD_SQUARES,
    CalibrationError,
    Intrinsics,
    board,
    calibrate,
    camera_for,
)
from kneevision.markers.core import (
    MarkerPose,
    choose_pose,
    detect,
    resolve_ambiguity,
    rotation_angle,
    tibial_rotation_from_markers,
)
from kneevision.markers.render import FACING, board_views, camera_matrix, measure_twist_error, rot_y
from kneevision.markers.sheet import write_board, write_sheet
from kneevision.video.source import Frame
from tests.helpers import REPO


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


def _pose(deg: float, err: float) -> MarkerPose:
    return MarkerPose(FACING @ rot_y(deg), np.zeros(3), err, False)


def test_viterbi_decides_a_crossing_by_the_run_that_follows():
    """Through neutral the branches meet. Just after, the mirror image fits better for two
    frames (and every 7th frame later), so the frame-by-frame rule bounces back onto it
    and stays there; the clip-wide choice follows the run of frames and crosses."""
    truth = np.r_[np.linspace(20, 0, 10), np.linspace(-2, -30, 20)]
    cands = []
    for k, a in enumerate(truth):
        misleading = k in (10, 11) or (k > 10 and k % 7 == 0)
        cands.append([_pose(a, 0.2 if misleading else 0.05), _pose(-a, 0.12)])
    chosen = resolve_ambiguity(cands, np.arange(len(truth)) / 30)
    off = [rotation_angle(p.rotation, c[0].rotation) for p, c in zip(chosen, cands, strict=True)]
    assert max(off[:10]) < 1e-6 and max(off[12:]) < 1e-6  # the run after the crossing: right
    assert max(off) < 8  # at the two misleading frames, at most a few degrees off
    prev = None
    for row in cands:
        prev = choose_pose(sorted(row, key=lambda p: p.error_px), prev)
    assert rotation_angle(prev.rotation, cands[-1][1].rotation) < 1e-6  # greedy: wrong branch
    gaps = resolve_ambiguity([[], cands[0], [], cands[1]], np.arange(4) / 30)
    assert gaps[0] is None and gaps[2] is None and gaps[1] is not None


def test_thigh_smoothing_removes_jitter_and_keeps_gaps():
    from kneevision.markers.core import smooth_rotations
    from kneevision.markers.render import rot_x

    rng = np.random.default_rng(0)
    still = FACING @ rot_x(-55)
    noisy = [still @ rot_y(rng.normal(0, 2)) @ rot_x(rng.normal(0, 2)) for _ in range(90)]
    noisy[40:45] = [None] * 5
    smooth = smooth_rotations(np.arange(90) / 30, noisy, 1.0)
    assert all(r is None for r in smooth[40:45])
    raw = np.median([rotation_angle(r, still) for r in noisy if r is not None])
    out = np.median([rotation_angle(r, still) for r in smooth if r is not None])
    assert out < raw / 2 and all(abs(np.linalg.det(r) - 1) < 1e-9 for r in smooth if r is not None)


@pytest.mark.slow  # 24 renders
@pytest.mark.parametrize("distance", [1.0, 1.5])
def test_pattern_fit_puts_small_marker_corners_closer_to_the_truth(distance):
    """30 mm markers, tilted, blurred, noisy and JPEG-compressed: the whole-pattern fit
    puts the corners nearer their true projection than the detector's corner refinement."""
    from kneevision.markers.core import object_points
    from kneevision.markers.render import Placed, render, rot_x

    camera = camera_matrix(1500, 1920, 1080)
    rng = np.random.default_rng(5)
    errors = {True: [], False: []}
    for k in range(12):
        rotation = FACING @ rot_y(rng.uniform(-35, 35)) @ rot_x(rng.uniform(-20, 20))
        position = np.array([rng.uniform(-0.2, 0.2), rng.uniform(-0.1, 0.1), distance])
        marker = Placed(k % 4, 0.03, rotation, position)
        image = render(
            [marker], camera, (1920, 1080), rng=rng, blur_px=0.8, noise=3.0, jpeg_quality=75
        )
        cam = object_points(0.03) @ rotation.T + position
        truth = (cam @ camera.T)[:, :2] / (cam @ camera.T)[:, 2:]
        for refine in (True, False):
            found = detect(image, refine=refine)
            assert k % 4 in found
            errors[refine].append(np.abs(found[k % 4] - truth).mean())
    fitted, detector = np.mean(errors[True]), np.mean(errors[False])
    print(f"corner error {fitted:.3f} px fitted, {detector:.3f} px detector")
    assert fitted < 0.5 * detector, (fitted, detector)


def test_twist_uncertainty_is_largest_square_on_and_far_away():
    """Propagated corner noise: a marker seen square-on pins its turn about its long
    axis down worst (only the shortening of its sides shows it), and distance hurts."""
    from kneevision.markers.core import MarkerPose, twist_sd

    camera = camera_matrix(1500, 1920, 1080)

    def sd(turn_deg, distance, noise=0.05):
        pose = MarkerPose(FACING @ rot_y(turn_deg), np.array([0.0, 0.0, distance]), 0.0, False)
        return twist_sd(pose, 0.03, camera, corner_sd_px=noise)

    assert sd(0, 1.0) > 3 * sd(30, 1.0)
    assert sd(30, 1.5) > 1.4 * sd(30, 1.0)
    assert sd(30, 1.0, noise=0.1) == pytest.approx(2 * sd(30, 1.0), rel=1e-3)


def test_internal_rotation_positive_for_both_legs():
    thigh = [FACING] * 3
    for side, sign in (("right", 1.0), ("left", -1.0)):
        shin = [FACING @ rot_y(sign * a) for a in (0.0, 10.0, 25.0)]
        assert np.allclose(tibial_rotation_from_markers(shin, thigh, side), [0, 10, 25])


@pytest.mark.slow  # renders a marker clip
@pytest.mark.parametrize(
    ("side", "size", "distance"),
    [("right", 0.03, 1.5), ("left", 0.03, 1.0), ("left", 0.05, 0.5), ("right", 0.04, 1.5)],
)
def test_accuracy_target(side, size, distance):
    """The issue's target (median ≤ 1°, p95 ≤ 2°) in 1080p, on four of the benchmark's
    nine cells, the smallest marker at the longest distance among them (30 px wide)."""
    _, err, seen = measure_twist_error(size, distance, side=side, seed=3)
    e = np.abs(err[np.isfinite(err)])
    assert seen == 1.0
    assert np.median(e) <= 1.0 and np.percentile(e, 95) <= 2.0, (np.median(e), np.percentile(e, 95))


def test_calibration_recovers_a_known_camera():
    camera = camera_matrix(1000, 1280, 720)
    frames = [Frame(i, i / 30, im) for i, im in enumerate(board_views(camera, (1280, 720), 14))]
    cal = calibrate(frames)
    assert cal.views == 14 and cal.rms_px < 1.0
    assert cal.matrix[0, 0] == pytest.approx(1000, rel=0.01)
    assert cal.matrix[1, 1] == pytest.approx(1000, rel=0.01)
    assert np.allclose(cal.matrix[:2, 2], [640, 360], atol=5)
    with pytest.raises(CalibrationError, match="found in only 0 frames"):
        calibrate([Frame(0, 0.0, np.full((720, 1280, 3), 128, np.uint8))], source="blank.mp4")


def test_intrinsics_follow_the_frame_size(tmp_path):
    cal = Intrinsics(1920, 1080, [[1500, 0, 950], [0, 1490, 545], [0, 0, 1]],
                     [0.1, -0.2, 0.001, 0.002, 0.0], 0.3, 20, 30.0)  # fmt: skip
    path = cal.save(tmp_path / "cam.json")
    k, d, meta = camera_for(1280, 720, 65.0, path)  # same camera, smaller video
    assert np.allclose(k, [[1000, 0, 950 * 2 / 3], [0, 1490 * 2 / 3, 545 * 2 / 3], [0, 0, 1]])
    assert meta["intrinsics"] == str(path)
    k, d, _ = camera_for(1080, 1920, 65.0, path)  # portrait clip from a landscape calibration
    assert (k[0, 0], k[1, 1]) == (1490, 1500) and np.allclose(k[:2, 2], [1080 - 545, 950])
    assert np.allclose(d, [0.1, -0.2, 0.002, -0.001, 0.0])
    with pytest.raises(
        CalibrationError, match="calibrated at 1920x1080, but the video is 1000x1000"
    ):
        camera_for(1000, 1000, 65.0, path)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(CalibrationError, match=r"bad\.json: not a KneeVision intrinsics file"):
        camera_for(1280, 720, 65.0, tmp_path / "bad.json")
    k, d, meta = camera_for(1280, 720, 65.0)
    assert d is None and meta["fov_deg"] == 65.0
    assert 640 / k[0, 0] == pytest.approx(np.tan(np.radians(32.5)))


def test_printed_board_is_true_to_scale(tmp_path):
    pdf = write_board(tmp_path / "b.pdf", 30.0)
    subprocess.run(["pdftoppm", "-r", "200", "-png", str(pdf), str(tmp_path / "p")], check=True)
    page = cv2.imread(str(next(tmp_path.glob("p*.png"))), cv2.IMREAD_GRAYSCALE)
    det = cv2.aruco.CharucoDetector(board(30.0))
    corners, ids, _, _ = det.detectBoard(page)
    cols, rows = BOARD_SQUARES
    assert len(ids) == (cols - 1) * (rows - 1)
    pts = dict(zip(ids.ravel().tolist(), corners.reshape(-1, 2), strict=True))
    # neighbouring inner corners along a row are one square apart
    step = np.linalg.norm(pts[1] - pts[0]) / 200 * 25.4
    span = np.linalg.norm(pts[cols - 2] - pts[0]) / 200 * 25.4
    assert step == pytest.approx(30.0, abs=0.5) and span == pytest.approx(
        30.0 * (cols - 2), abs=0.5
    )


@pytest.mark.slow  # renders a marker clip
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


@pytest.mark.slow  # renders two marker clips
def test_small_markers_are_flagged():
    """A 30 mm marker at 2 m is 22 px wide in 1080p, near where markers go unread."""
    from kneevision.markers.analysis import marker_result, track
    from kneevision.markers.render import render, twist_angles, twist_sequence

    camera = camera_matrix(1500, 1920, 1080)
    codes = {}
    for distance in (0.5, 2.0):
        frames = [
            Frame(i, i / 30, render(placed, camera, (1920, 1080)))
            for i, placed in enumerate(
                twist_sequence(twist_angles()[:40], size_m=0.03, distance_m=distance)
            )
        ]
        tr = track(frames, 0.03, camera)
        codes[distance] = marker_result(tr).flag_codes()
        assert tr.side_px[2] == pytest.approx(1500 * 0.03 / distance, rel=0.1)
    assert "markers_small" in codes[2.0] and "markers_small" not in codes[0.5]


def test_no_markers_in_view_is_said():
    from kneevision.markers.analysis import marker_result, track

    blank = [Frame(i, i / 30, np.full((360, 640, 3), 120, np.uint8)) for i in range(10)]
    result = marker_result(track(blank, 0.04, camera_matrix(500, 640, 360)))
    assert result.flag_codes() == ["markers_not_found"]
    assert result.sides == {"left": {"tested": False}, "right": {"tested": False}}


@pytest.mark.slow  # renders a clip, runs pose inference
def test_analyze_with_markers_end_to_end(tmp_path):
    """The therapist's path: calibrate the camera from board footage, then analyze a marker
    clip with those intrinsics; the overlay shows the marker axes."""
    from kneevision.markers.render import render, twist_sequence
    from kneevision.video.writer import VideoWriter

    camera = camera_matrix(1000, 1280, 720)
    board_dir = tmp_path / "board"
    board_dir.mkdir()
    for i, im in enumerate(board_views(camera, (1280, 720), 12, seed=5)):
        cv2.imwrite(str(board_dir / f"{i:03d}.png"), im)
    r = subprocess.run(
        [sys.executable, "-m", "kneevision", "markers", "calibrate", str(board_dir),
         "--out", str(tmp_path / "cam.json")],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "12 views" in r.stdout and "--intrinsics" in r.stdout
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
         "--markers", "--marker-size-mm", "40", "--intrinsics", str(tmp_path / "cam.json"),
         "--model", "lite", "--out", str(tmp_path)],
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
    assert s["markers"]["settings"]["intrinsics"].endswith("cam.json")
    assert (out / "markers.csv").is_file() and "Markers and markerless" in (
        out / "report.html"
    ).read_text()
    # marker axes on the overlay: saturated red, green and blue strokes at the shin marker
    cap = cv2.VideoCapture(str(out / "overlay.mp4"))
    ok, frame = cap.read()
    cap.release()
    assert ok
    scale = frame.shape[1] / 1280
    shin = twist_sequence(truth[:1], size_m=0.04, distance_m=0.6)[0][0].position
    u, v = (camera @ shin)[:2] / (camera @ shin)[2] * scale
    box = frame[int(v) - 40 : int(v) + 40, int(u) - 40 : int(u) + 40].astype(int)
    b, g, rr = box[..., 0], box[..., 1], box[..., 2]
    for strong, weak in ((rr, (g, b)), (g, (rr, b)), (b, (rr, g))):
        assert ((strong > 150) & (weak[0] < 90) & (weak[1] < 90)).sum() > 10


@pytest.mark.slow  # the calibration decodes the whole bundled clip
def test_marker_commands_fail_with_one_line(tmp_path):
    """No board in the footage, or a missing intrinsics file: one line naming the file, exit 1,
    nothing written."""
    from tests.helpers import BUNDLED

    def kv(*args):
        return subprocess.run([sys.executable, "-m", "kneevision", *args], capture_output=True,
                              text=True, cwd=REPO, timeout=300)  # fmt: skip

    r = kv("markers", "calibrate", str(BUNDLED), "--out", str(tmp_path / "cam.json"))
    assert r.returncode == 1 and not (tmp_path / "cam.json").exists()
    assert r.stderr.strip() == (
        f"kneevision: error: {BUNDLED}: the board was found in only 0 frames (6 needed): "
        "film the whole board, well lit, tilted in several directions"
    )
    missing = tmp_path / "nope.json"
    r = kv(
        "analyze", str(BUNDLED), "--markers", "--intrinsics", str(missing), "--out", str(tmp_path)
    )
    assert r.returncode == 1 and list(tmp_path.iterdir()) == []
    assert r.stderr.strip() == f"kneevision: error: {missing}: intrinsics file not found"

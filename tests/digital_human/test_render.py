"""The renderer: geometry where the camera says, determinism, speed figures in truth.json."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from kneevision.cli import main
from kneevision.digital_human.body import LegPose, Pose
from kneevision.digital_human.clip import RenderOptions, render_scene
from kneevision.digital_human.render import Look, PhoneCamera, Renderer
from kneevision.digital_human.scenes import balance, box
from kneevision.digital_human.truth import projections

CAM = PhoneCamera(width=480, height=270, distance=3.0, height_m=0.8, aim_height=0.8)
QUIET = Look(noise=0.0)
AWAY = Pose(position=(100.0, 0.9, 0.0))  # the body far out of the picture


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(camera=CAM, look=QUIET)


def test_a_box_appears_exactly_where_its_corners_project(renderer):
    lo, hi = np.array([0.6, 0.0, -0.3]), np.array([0.9, 0.5, 0.2])
    mesh = box(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2], color=(0.9, 0.1, 0.1))
    away = renderer.pose(AWAY)
    empty = renderer.frame(away).astype(int)
    with_box = renderer.frame(away, (mesh,)).astype(int)
    ys, xs = np.nonzero(np.abs(with_box - empty).max(axis=2) > 8)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                        for z in (lo[2], hi[2])])  # fmt: skip
    px = renderer.cam.project(corners)
    assert xs.min() == pytest.approx(px[:, 0].min(), abs=1.0)
    assert xs.max() + 1 == pytest.approx(px[:, 0].max(), abs=1.0)
    assert ys.min() == pytest.approx(px[:, 1].min(), abs=1.0)
    assert ys.max() + 1 == pytest.approx(px[:, 1].max(), abs=1.0)


def test_the_joints_project_onto_the_body(renderer):
    pose = Pose(legs={s: LegPose(hip_flexion=50, knee_flexion=80, planted=True)
                      for s in ("left", "right")})  # fmt: skip
    posed = renderer.pose(pose)
    body = renderer.frame(posed).astype(int)
    empty = renderer.frame(renderer.pose(AWAY)).astype(int)
    covered = np.abs(body - empty).max(axis=2) > 8
    for name, xy in projections([posed], renderer.cam).items():
        x, y = np.round(xy[0]).astype(int)
        assert covered[y - 1 : y + 2, x - 1 : x + 2].all(), name
    # The body stands where the camera looks: centred, feet in the lower half.
    ys, xs = np.nonzero(covered)
    assert abs(xs.mean() - CAM.width / 2) < 0.05 * CAM.width
    assert ys.max() > CAM.height / 2


def test_same_seed_same_frames_other_seed_only_noise(tmp_path):
    scene = balance(duration_s=0.4, fps=10.0)
    cam = PhoneCamera(width=320, height=180)
    frames = []
    for seed in (3, 3, 4):
        r = Renderer(camera=cam, seed=seed)
        frames.append(np.stack([r.frame(r.pose(p)) for p in scene.poses]).astype(int))
    assert np.array_equal(frames[0], frames[1])
    diff = np.abs(frames[0] - frames[2])
    assert 0.5 < diff.mean() < 4.0  # sensor noise of sd 2 levels, nothing else


def test_clip_and_truth_are_written_whole(tmp_path):
    scene = balance(duration_s=0.6, fps=10.0)
    video, truth = render_scene(scene, tmp_path / "b.mp4", RenderOptions(camera=PhoneCamera(
        width=320, height=180, fps=10.0)))  # fmt: skip
    t = json.loads(truth.read_text())
    assert video.stat().st_size > 1000
    assert t["frames"] == len(scene.poses) == len(t["series"]["left_knee_flexion_deg"])
    assert t["render"]["frames_per_s"] > 0
    assert set(t["projections_px"]) >= {"left_knee", "right_ankle", "left_toe"}
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_render_command_dresses_the_body_in_the_colours_asked(tmp_path):
    out = tmp_path / "red.mp4"
    look = "top=#ff0000,floor=tiles"
    args = ["render", "balance", "--out", str(out), "--param", "duration_s=0.2",
            "--camera", "width=320,height=180,fps=10", "--look", look]  # fmt: skip
    assert main(args) == 0
    t = json.loads(out.with_suffix(".truth.json").read_text())
    assert t["render"]["look"]["top"] == [0.0, 0.0, 1.0] and t["render"]["look"]["floor"] == "tiles"
    ok, frame = cv2.VideoCapture(str(out)).read()
    b, g, r = (frame[..., i].astype(int) for i in range(3))
    assert ok and ((r > 120) & (r > 2 * g) & (r > 2 * b)).sum() > 100  # a red shirt in view


@pytest.mark.parametrize("look", ["top=#ff00", "top=red", "floor=grass"])
def test_render_command_refuses_a_bad_look(tmp_path, capsys, look):
    args = ["render", "balance", "--out", str(tmp_path / "x.mp4"), "--look", look]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert "--look" in err and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.iterdir())

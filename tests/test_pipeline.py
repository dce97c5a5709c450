"""The frame pipeline's overlay sizing."""

import numpy as np
import pytest

from kneevision.pipeline import overlay_renderer, overlay_shrink
from kneevision.pose.landmarker import PoseFrame
from kneevision.settings import Settings
from kneevision.video import VideoInfo


@pytest.mark.parametrize(
    ("long_side", "max_side", "shrink"),
    [
        (1280, 960, 1 / 2),  # 720p: half, not the 3/4 that would just fit
        (1920, 960, 1 / 2),
        (3840, 960, 1 / 4),
        (2000, 960, 1 / 3),
        (960, 960, 1.0),
        (640, 960, 1.0),  # never enlarged
        (3840, 0, 1.0),  # 0 keeps the clip's size
    ],
)
def test_overlay_shrinks_by_a_whole_factor_within_the_limit(long_side, max_side, shrink):
    got = overlay_shrink(long_side, max_side)
    assert got == pytest.approx(shrink)
    assert long_side * got <= max_side or max_side == 0 or got == 1.0


def test_overlay_frames_have_the_declared_size():
    info = VideoInfo("clip.mp4", width=1080, height=1920, rotation=0, fps=30.0, frames=1,
                     duration_s=1 / 30)  # fmt: skip
    render, size = overlay_renderer(info, Settings())
    assert size == (540, 960)
    pf = PoseFrame.missing(0)
    out = render((np.zeros((1920, 1080, 3), np.uint8), 0.0, pf))
    assert out.shape == (960, 540, 3)


def test_live_labels_show_no_fppa_past_what_a_knee_does():
    """The overlay's FPPA label and warning follow the analysis: a knee angle in the
    picture past protocols.base.FPPA_PLAUSIBLE_DEG is a bend seen at a slant, shown as
    "--"."""
    from kneevision import synthetic as S
    from kneevision.pipeline import live_labels

    camera = S.Camera.facing([0, 0.6, 0], distance=3.5)
    valgus = {"left": np.array([15.0, 60.0]), "right": np.zeros(2)}
    scene = S.squat_scene(2, depth_deg=50.0, valgus_deg=valgus, rep_s=2.4)
    seq = scene.observe(camera)
    (_, b1, _), (_, b2, _) = scene.reps
    for bottom_s, shown in ((b1, True), (b2, False)):
        i = int(np.argmin(np.abs(seq.time_s - bottom_s)))
        labels, warn = live_labels(seq.image[i], seq.world[i], warn_deg=10.0)
        assert ("FPPA  --" not in labels["left"][1]) is shown, labels
        assert warn["left"] is shown  # 15° warns; the slant does not
        assert warn["right"] is False

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

"""Metamorphic tests on a real clip: mirror, half resolution, half the frames.

The bundled goblet squat is transformed with ffmpeg and analysed again; what
must not change, does not.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from kneevision.pipeline import Settings, analyze
from kneevision.pose.model import resolve_model
from tests.conftest import BUNDLED

TRANSFORMS = {
    "mirror": ["-vf", "hflip"],
    "half_res": ["-vf", "scale=iw/2:ih/2"],
    "half_frames": ["-vf", "select='not(mod(n,2))'", "-fps_mode", "vfr"],
}


def _transformed(tmp: Path, name: str) -> Path:
    out = tmp / f"goblet_{name}.mp4"
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(BUNDLED)]
    cmd += [*TRANSFORMS[name], "-c:v", "libx264", "-crf", "16", "-preset", "veryfast", str(out)]
    subprocess.run(cmd, check=True)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("metamorphic")
    model = resolve_model("full")
    out = {"original": analyze(BUNDLED, model, Settings(overlay=False), out_root=tmp / "o")}
    for name in TRANSFORMS:
        settings = Settings(overlay=False, mirrored=name == "mirror")
        out[name] = analyze(_transformed(tmp, name), model, settings, out_root=tmp / name)
    sym = Settings(overlay=False, report=False, symmetric=True)
    out["symmetric"] = analyze(BUNDLED, model, sym, out_root=tmp / "s")
    out["mirror_symmetric"] = analyze(
        tmp / "goblet_mirror.mp4", model, replace(sym, mirrored=True), out_root=tmp / "ms"
    )
    return out


def bottoms(analysis) -> list[float]:
    return [e["time_s"] for e in analysis.result.events if e["kind"] == "bottom"]


def per_side(analysis, metric: str) -> dict[str, np.ndarray]:
    return {
        s: np.array([r[metric] for r in analysis.result.reps if r["side"] == s], dtype=float)
        for s in ("left", "right")
    }


def test_mirrored_clip_with_flag_gives_same_sides(runs):
    """Same reps, legs labelled as the person's, per-side values close.

    Measured: mirroring the picture alone moves MediaPipe's per-leg knee flexion
    by 6.6° on average (10° on one rep) and FPPA by ~4° on this clip (the leg on
    the image's left reads deeper in both runs), so per-side means agree within
    9°, not exactly; a left–right
    difference smaller than that on one clip is not evidence (see README).
    """
    a, b = runs["original"], runs["mirror"]
    assert b.result.protocol == a.result.protocol and b.result.view == a.result.view
    assert bottoms(b) == pytest.approx(bottoms(a), abs=0.1)
    for metric in ("peak_knee_flexion_deg", "peak_fppa_deg"):
        pa, pb = per_side(a, metric), per_side(b, metric)
        for s in ("left", "right"):
            assert np.nanmean(np.abs(pa[s] - pb[s])) < 9.0, (metric, s, pa[s], pb[s])
    # the person's left knee is on the left of a mirrored picture: labels were swapped back
    pose = b.sequence
    assert np.nanmedian(pose.image[:, 25, 0] - pose.image[:, 26, 0]) < 0
    orig = a.sequence
    assert np.nanmedian(orig.image[:, 25, 0] - orig.image[:, 26, 0]) > 0


def test_symmetric_mode_makes_mirroring_change_nothing(runs):
    """With ``--symmetric`` (the model also runs on the flipped frame, answers averaged) a
    mirrored clip gives the same per-side values: only re-encoding noise is left."""
    a, b = runs["symmetric"], runs["mirror_symmetric"]
    assert bottoms(b) == pytest.approx(bottoms(a), abs=0.05)
    diffs = []
    for metric in ("peak_knee_flexion_deg", "peak_fppa_deg"):
        pa, pb = per_side(a, metric), per_side(b, metric)
        for s in ("left", "right"):
            assert len(pa[s]) == len(pb[s]) == 5
            diffs.append(np.abs(pa[s] - pb[s]))
    diffs = np.concatenate(diffs)
    assert np.isfinite(diffs).all() and diffs.mean() < 1.0 and diffs.max() < 2.5, diffs
    # without it, the same mirroring moves the same values several times more
    plain = [
        np.abs(per_side(runs["original"], m)[s] - per_side(runs["mirror"], m)[s])
        for m in ("peak_knee_flexion_deg", "peak_fppa_deg")
        for s in ("left", "right")
    ]
    assert np.concatenate(plain).mean() > 3 * diffs.mean()


def test_half_resolution_same_reps_fppa_within_2deg(runs):
    a, b = runs["original"], runs["half_res"]
    assert bottoms(b) == pytest.approx(bottoms(a), abs=0.1)
    pa, pb = per_side(a, "peak_fppa_deg"), per_side(b, "peak_fppa_deg")
    for s in ("left", "right"):
        ok = np.isfinite(pa[s]) & np.isfinite(pb[s])
        assert ok.sum() >= 3
        assert np.abs(pa[s][ok] - pb[s][ok]).max() <= 2.0, (s, pa[s], pb[s])


def test_every_other_frame_dropped_same_reps(runs):
    a, b = runs["original"], runs["half_frames"]
    assert len(b.sequence) < 0.6 * len(a.sequence)
    assert bottoms(b) == pytest.approx(bottoms(a), abs=0.15)

"""Shared fixtures: paths to the sample clips and a once-per-session analysis."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
SHARED_SAMPLES = REPO.parent / "shared" / "samples"
BUNDLED = REPO / "samples" / "front_goblet_squat_home_A.mp4"


def expected_clips() -> dict[str, dict[str, str]]:
    """Rows of ../shared/samples/expected.tsv keyed by file name."""
    with open(SHARED_SAMPLES / "expected.tsv", newline="") as fh:
        return {row["file"]: row for row in csv.DictReader(fh, delimiter="\t")}


def manifest() -> dict[str, dict[str, str]]:
    """Rows of ../shared/samples/MANIFEST.tsv keyed by file name."""
    with open(SHARED_SAMPLES / "MANIFEST.tsv", newline="") as fh:
        return {row["file"]: row for row in csv.DictReader(fh, delimiter="\t")}


def synthetic_clip(
    path: Path, seconds: float = 1.0, fps: int = 15, size: str = "320x240", vf: str | None = None
) -> Path:
    """Write an H.264 test-pattern clip (no person in it) with ffmpeg."""
    import subprocess

    import imageio_ffmpeg

    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"testsrc=size={size}:rate={fps}",
        "-t",
        str(seconds),
    ]
    if vf:
        cmd += ["-vf", vf, "-fps_mode", "vfr"]
    subprocess.run([*cmd, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


@pytest.fixture(scope="session")
def shared_samples() -> Path:
    assert SHARED_SAMPLES.is_dir(), (
        f"test inputs missing: {SHARED_SAMPLES} (clone beside ../shared)"
    )
    return SHARED_SAMPLES


@pytest.fixture(scope="session")
def all_clips_analyzed(tmp_path_factory, shared_samples) -> Path:
    """`kneevision analyze` run once over every shared clip, as a user would."""
    from kneevision.cli import main

    out = tmp_path_factory.mktemp("all_clips")
    clips = sorted(str(p) for p in shared_samples.glob("*.mp4"))
    assert main(["analyze", *clips, "--out", str(out), "-q"]) == 0
    for summary in out.glob("*/summary.json"):
        check_summary(summary)
    return out


def check_summary(path: Path) -> dict:
    """A written summary.json against the published JSON Schema and the typed contract:
    it validates, reads back unchanged, and names only registered metrics."""
    import json

    from kneevision.metrics import is_registered
    from kneevision.summary import Summary, validate

    data = json.loads(Path(path).read_text())
    validate(data)
    summary = Summary.from_json(data)
    assert summary.to_json() == data, path
    names = {k for r in summary.reps for k in r.extra if not isinstance(r.extra[k], bool)}
    names |= {m for s in summary.sides.values() for m in s.metrics}
    names |= set(summary.bilateral) | set(summary.asymmetry) | set(summary.angles)
    unknown = sorted(n for n in names if not is_registered(n))
    assert not unknown, f"{path}: metrics missing from kneevision.metrics: {unknown}"
    return data


@pytest.fixture(scope="session")
def validate_summary():
    """``validate_summary(path)``: see :func:`check_summary`."""
    return check_summary

"""Helpers the tests share: sample paths, clip makers and the summary check.

A plain module (imported as ``tests.helpers``), so that no test imports ``conftest``;
the fixtures in ``conftest.py`` are built on it.
"""

from __future__ import annotations

import csv
from pathlib import Path

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

"""Shared fixtures: the sample clips and a once-per-session analysis (helpers: tests.helpers)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import SHARED_SAMPLES, check_summary

os.environ.setdefault("MPLBACKEND", "Agg")


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


@pytest.fixture(scope="session")
def validate_summary():
    """``validate_summary(path)``: see :func:`check_summary`."""
    return check_summary

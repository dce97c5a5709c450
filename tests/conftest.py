"""Shared fixtures: the sample clips and a once-per-session analysis (helpers: tests.helpers).

``pytest -m "not slow"`` is the fast subset. Besides the tests marked in their files, the
hook below marks slow what is slow by what it runs: every test on the session's analysis
of the shared clips (``all_clips_analyzed``, pose inference on every clip) and the
notebooks, which nbmake executes (they cannot carry a marker).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import SHARED_SAMPLES, check_summary

os.environ.setdefault("MPLBACKEND", "Agg")

#: Fixtures that run pose inference once for the session: a test using one is slow.
SLOW_FIXTURES = frozenset({"all_clips_analyzed", "quick_validation"})


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        uses = SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if item.path.suffix == ".ipynb" or uses:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shared_samples() -> Path:
    assert SHARED_SAMPLES.is_dir(), (
        f"test inputs missing: {SHARED_SAMPLES} (clone beside ../shared)"
    )
    return SHARED_SAMPLES


@pytest.fixture(scope="session")
def all_clips_analyzed(tmp_path_factory, shared_samples) -> Path:
    """`kneevision analyze` run once over every shared clip, as a user would (a test
    using it is marked slow)."""
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


@pytest.fixture(scope="session")
def quick_validation(tmp_path_factory) -> tuple[Path, str]:
    """``kneevision validate --quick`` once for the session (three small rendered clips,
    analysed): its output folder and Markdown table."""
    from kneevision.digital_human.validate import run_validation

    out = tmp_path_factory.mktemp("validate")
    return out, run_validation(out, quick=True)

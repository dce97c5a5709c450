"""Model resolution: shipped files verified, env folder, user file, clear failures."""

from __future__ import annotations

import shutil

import pytest

from kneevision.errors import ModelError
from kneevision.pose import model as M
from tests.helpers import REPO


def test_shipped_models_verify():
    for name in ("lite", "full"):
        mf = M.resolve_model(name, allow_download=False)
        assert mf.sha256 == M.KNOWN_SHA256[name]
        assert mf.path.is_file()


def test_sha256sums_file_matches_known_digests():
    lines = (REPO / "models" / "SHA256SUMS").read_text().split("\n")
    sums = dict(reversed(line.split()) for line in lines if line.strip())
    for name in ("lite", "full"):
        assert sums[f"pose_landmarker_{name}.task"] == M.KNOWN_SHA256[name]
    assert (
        (REPO / "models" / "LICENSE-Apache-2.0.txt")
        .read_text()
        .startswith(" " * 33 + "Apache License")
    )


def test_env_dir_takes_precedence_and_corrupt_model_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "pose_landmarker_full.task"
    bad.write_bytes(b"not a model")
    monkeypatch.setenv("KNEEVISION_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelError, match="corrupt") as exc:
        M.resolve_model("full")
    assert str(bad) in str(exc.value)


def test_user_model_path(tmp_path):
    src = M.resolve_model("lite").path
    mine = tmp_path / "mine.task"
    shutil.copy(src, mine)
    mf = M.resolve_model(str(mine))
    assert mf.name == "mine" and mf.path == mine
    with pytest.raises(ModelError, match="not found"):
        M.resolve_model(str(tmp_path / "missing.task"))
    with pytest.raises(ModelError, match="unknown model"):
        M.resolve_model("gigantic")


def test_download_failure_offline_is_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(M, "_URL", "http://127.0.0.1:9/{name}.task")  # nothing listens there
    with pytest.raises(ModelError, match="could not be downloaded"):
        M.resolve_model("heavy")
    assert not list(tmp_path.rglob("*.part"))


def test_corrupt_model_bytes_fail_at_load(tmp_path):
    from kneevision.pose import PoseEstimator

    broken = tmp_path / "broken.task"
    broken.write_bytes(b"\0" * 1000)
    with pytest.raises(ModelError, match="cannot load pose model"):
        PoseEstimator(M.resolve_model(str(broken)))

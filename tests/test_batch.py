"""`kneevision batch` and `kneevision db` as a clinic uses them."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kneevision.batch import run_batch
from kneevision.pose.sequence import PoseSequence
from tests.helpers import REPO, SHARED_SAMPLES

FAST = ["--model", "lite", "--no-overlay", "--no-report", "-q"]
CLIPS = {
    "P001/2026-03-01": "balance_single_leg_lab_P_cam01.mp4",
    "P001/2026-04-01": "balance_single_leg_lab_P_cam02.mp4",
    "P002/2026-03-02": "front_goblet_squat_home_A_rotated.mp4",
}


def kv(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kneevision", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=600, **kw)  # fmt: skip


def clinic_folder(root: Path, broken: bool = True) -> Path:
    for folder, clip in CLIPS.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(SHARED_SAMPLES / clip, root / folder / clip)
    if broken:
        (root / "P002/2026-03-02/broken.mp4").write_text("not a video\n" * 50)
    return root


def query(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def trials(db: Path) -> list[tuple]:
    return query(
        db,
        "SELECT s.patient_id, s.date, t.path, t.status, t.error, t.finished FROM trials t "
        "JOIN sessions s ON s.id = t.session_id ORDER BY t.path",
    )


def _trials_so_far(db: Path) -> list[tuple]:
    # The batch creates the file before its tables: polling may land in between.
    try:
        return trials(db)
    except sqlite3.OperationalError:
        return []


@pytest.fixture(scope="module")
def clinic(tmp_path_factory) -> tuple[Path, Path]:
    """A batch over three real clips and a broken one (run once, checked by several tests)."""
    root = tmp_path_factory.mktemp("clinic")
    clinic_folder(root / "in")
    r = kv("batch", str(root / "in"), "--db", str(root / "kv.sqlite"), *FAST)
    assert r.returncode == 1, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("3 analysed, 0 already done, 1 failed (of 4 clips)"), r.stderr
    assert "broken.mp4" in r.stderr and "not a readable video" in r.stderr
    return root, root / "kv.sqlite"


@pytest.mark.slow
def test_batch_ok_and_failed_trials_then_rerun_skips(clinic):
    root, db = clinic
    rows = trials(db)
    assert [(p, d, s) for p, d, _, s, _, _ in rows] == [
        ("P001", "2026-03-01", "done"), ("P001", "2026-04-01", "done"),
        ("P002", "2026-03-02", "failed"), ("P002", "2026-03-02", "done"),
    ]  # fmt: skip
    assert "not a readable video" in rows[2][4]
    outs = sorted((root / "kneevision-batch").glob("*/*/*_kneevision"))
    assert len(outs) == 3 and all((o / "summary.json").is_file() for o in outs)
    mtimes = [o.stat().st_mtime for o in outs]
    r = kv("batch", str(root / "in"), "--db", str(db), *FAST)
    assert r.stderr.strip().splitlines()[-1].startswith("0 analysed, 3 already done, 1 failed")
    again = trials(db)
    assert [r[5] for r in again if r[3] == "done"] == [r[5] for r in rows if r[3] == "done"]
    assert [o.stat().st_mtime for o in outs] == mtimes  # nothing re-analysed or rewritten
    assert oct(db.stat().st_mode & 0o777) == "0o600"


@pytest.mark.slow
def test_everything_the_batch_writes_is_owner_only(clinic, validate_summary):
    """Overlay videos, landmarks and reports are patient data, like the database (0600)."""
    root, _ = clinic
    out = root / "kneevision-batch"
    paths = [out, *out.rglob("*")]
    assert len(paths) > 20
    wide = [f"{p.relative_to(root)} {oct(p.stat().st_mode & 0o777)}" for p in paths
            if p.stat().st_mode & 0o777 != (0o700 if p.is_dir() else 0o600)]  # fmt: skip
    assert not wide
    for summary in out.rglob("summary.json"):
        validate_summary(summary)


@pytest.mark.slow
def test_db_commands_and_history_report(clinic, tmp_path):
    _, db = clinic
    r = kv("db", "patients", "--db", str(db))
    assert r.returncode == 0 and "P001" in r.stdout and "P002" in r.stdout
    r = kv("db", "history", "P001", "--db", str(db), "--metric", "hold_s", "--plot",
           str(tmp_path / "h.png"))  # fmt: skip
    assert r.returncode == 0 and "2026-03-01" in r.stdout and (tmp_path / "h.png").stat().st_size
    r = kv("db", "export", "--db", str(db), "--csv", str(tmp_path / "all.csv"))
    assert r.returncode == 0
    lines = (tmp_path / "all.csv").read_text().splitlines()
    assert lines[0].startswith("patient_id,session_date,path") and len(lines) > 10
    out = tmp_path / "P001.html"
    r = kv("report", "--patient", "P001", "--db", str(db), "--out", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert "patient P001" in html and html.count("data:image/png;base64,") >= 3
    r = kv("db", "history", "NOBODY", "--db", str(db))
    assert r.returncode == 1 and "no analysed sessions" in r.stderr


@pytest.mark.slow  # the good row is analysed
def test_manifest_bad_rows_fail_with_their_reason(tmp_path):
    good = tmp_path / "a.mp4"
    shutil.copy(SHARED_SAMPLES / CLIPS["P001/2026-03-01"], good)
    (tmp_path / "m.csv").write_text(
        "patient_id,session_date,path,protocol,side,notes\n"
        "P9,2026-05-01,a.mp4,balance,,first visit\n"
        "P9,2026-05-01,missing.mp4,,,\n"
        "P9,2026-05-01,a.mp4,jumping,,\n"
        "P9,2026-05-01,a.mp4,balance,middle,\n"
    )
    r = kv("batch", str(tmp_path / "m.csv"), "--db", str(tmp_path / "kv.sqlite"), *FAST)
    assert r.returncode == 1
    rows = trials(tmp_path / "kv.sqlite")
    status = sorted((s, e or "") for *_, s, e, _ in rows)
    assert [s for s, _ in status] == ["done", "failed", "failed", "failed"]
    reasons = " ".join(e for _, e in status)
    for why in ("line 3: file not found", "line 4: unknown protocol 'jumping'",
                "line 5: side must be left or right"):  # fmt: skip
        assert why in reasons


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_finishes_exactly_once(tmp_path):
    root = clinic_folder(tmp_path / "in", broken=False)
    db, out = tmp_path / "kv.sqlite", tmp_path / "out"
    cmd = [sys.executable, "-m", "kneevision", "batch", str(root), "--db", str(db),
           "--out", str(out), *FAST]  # fmt: skip
    p = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 300
        while time.monotonic() < end and p.poll() is None:
            if db.exists() and len([r for r in _trials_so_far(db) if r[3] == "done"]) >= 1:
                break
            time.sleep(0.2)
        assert p.poll() is None, "the batch ended before it could be killed"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        p.kill()
    assert len(trials(db)) < 3
    r = kv("batch", str(root), "--db", str(db), "--out", str(out), *FAST)
    assert r.returncode == 0, r.stderr
    rows = trials(db)
    assert sorted(Path(r[2]).name for r in rows) == sorted(CLIPS.values())
    assert all(r[3] == "done" for r in rows)
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert not list(out.rglob("*.tmp")) and len(list(out.rglob("*_kneevision"))) == 3


def _metrics(db: Path) -> dict:
    rows = query(
        db,
        "SELECT t.path, m.side, m.rep, m.metric, m.value FROM metrics m "
        "JOIN trials t ON t.id = m.trial_id",
    )
    return {r[:4]: r[4] for r in rows}


@pytest.mark.slow
def test_dask_cluster_gives_the_same_results_as_local_processes(tmp_path):
    from dask.distributed import LocalCluster

    root = clinic_folder(tmp_path / "in", broken=False)
    (root / "P001/2026-04-01" / CLIPS["P001/2026-04-01"]).unlink()  # two clips are enough
    settings = {"model": "lite", "overlay": False, "report": False}
    local = run_batch(root, tmp_path / "local.sqlite", settings, workers=2,
                      out_root=tmp_path / "o1")  # fmt: skip
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:  # fmt: skip
        address = cluster.scheduler_address
        remote = run_batch(
            root, tmp_path / "dask.sqlite", settings, scheduler=address, out_root=tmp_path / "o2"
        )
    assert (local.done, local.failed) == (remote.done, remote.failed) == (2, 0)
    a, b = _metrics(tmp_path / "local.sqlite"), _metrics(tmp_path / "dask.sqlite")
    assert a.keys() == b.keys() and len(a) > 20
    keys = sorted(a, key=str)
    va = np.array([np.nan if a[k] is None else a[k] for k in keys], dtype=float)
    vb = np.array([np.nan if b[k] is None else b[k] for k in keys], dtype=float)
    assert np.allclose(va, vb, atol=1e-6, equal_nan=True)


@pytest.mark.slow
def test_blur_faces_in_the_overlay(tmp_path):
    import cv2

    clip = SHARED_SAMPLES / CLIPS["P002/2026-03-02"]
    sharp = []
    for flag in ([], ["--blur-faces"]):
        out = tmp_path / ("blur" if flag else "plain")
        r = kv("analyze", str(clip), "--out", str(out), "--model", "lite", "--no-report", "-q",
               *flag)  # fmt: skip
        assert r.returncode == 0, r.stderr
        folder = out / f"{clip.stem}_kneevision"
        pose = PoseSequence.load(folder / "pose.npz")
        cap = cv2.VideoCapture(str(folder / "overlay.mp4"))
        scale = cap.get(cv2.CAP_PROP_FRAME_WIDTH) / pose.width
        values = []
        for i in range(0, 120, 10):
            cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            _ok, frame = cap.read()
            face = pose.image[i, :11] * scale
            (x0, y0), (x1, y1) = (
                np.nanmin(face, axis=0).astype(int),
                np.nanmax(face, axis=0).astype(int),
            )
            patch = cv2.cvtColor(frame[y0 : y1 + 1, x0 : x1 + 1], cv2.COLOR_BGR2GRAY)
            values.append(cv2.Laplacian(patch, cv2.CV_64F).var())
        sharp.append(np.median(values))
    assert sharp[1] < 0.3 * sharp[0], sharp  # the face lost most of its detail


def test_settings_hash_ignores_scheduling_not_the_estimate():
    from kneevision.batch import Job, settings_hash
    from kneevision.settings import Settings

    job = Job(patient="P", date="2026-01-01", path="x.mp4")
    base = Settings().to_dict()

    def key(**changes) -> str:
        return settings_hash({**base, **changes}, job, "sha")

    assert key() == key(parallel_mirror=False) == key(reserve_core=False)
    assert key() == key(export=["trc", "mot"])  # extra formats do not change the numbers
    assert key(fast=True) != key()  # one pass or the flip average: different results
    assert key(valgus_warn_deg=15.0) != key()


@pytest.mark.slow
def test_workers_run_the_mirrored_pass_serially_with_the_same_results(tmp_path):
    """Several workers each run their two landmarkers one after the other (2 workers
    keep 2 cores busy, not 4 threads); one worker runs them side by side. Same numbers."""
    import json

    root = tmp_path / "in"
    folder = root / "P002/2026-03-02"
    folder.mkdir(parents=True)
    shutil.copy(SHARED_SAMPLES / CLIPS["P002/2026-03-02"], folder)
    settings = {"model": "lite", "overlay": False, "report": False}
    for workers in (1, 2):
        r = run_batch(root, tmp_path / f"w{workers}.sqlite", settings, workers=workers,
                      out_root=tmp_path / f"o{workers}")  # fmt: skip
        assert (r.done, r.failed) == (1, 0)
        summary = next((tmp_path / f"o{workers}").rglob("summary.json"))
        used = json.loads(summary.read_text())["settings"]
        assert (used["fast"], used["parallel_mirror"]) == (False, workers == 1)
    a, b = _metrics(tmp_path / "w1.sqlite"), _metrics(tmp_path / "w2.sqlite")
    assert a.keys() == b.keys() and len(a) > 10
    assert all(a[k] == b[k] for k in a)


def test_fast_is_a_flag_of_analyze_and_batch_and_a_setting_of_the_same_name(tmp_path):
    """The flip average is the default; ``--fast`` (or ``fast = true`` in the TOML file)
    keeps the single pass; ``live`` keeps the single pass unless given ``--symmetric``."""
    from kneevision.cli import _settings, build_parser

    parser = build_parser()
    toml = tmp_path / "s.toml"
    toml.write_text("[analyze]\nfast = true\n")
    for head in (["analyze", "c.mp4"], ["batch", "in", "--db", "x.sqlite"]):
        assert _settings(parser.parse_args(head)).fast is False
        assert _settings(parser.parse_args([*head, "--fast"])).fast is True
        assert _settings(parser.parse_args([*head, "--config", str(toml)])).fast is True
    assert _settings(parser.parse_args(["live"])).fast is True
    assert _settings(parser.parse_args(["live", "--symmetric"])).fast is False
    with pytest.raises(SystemExit):
        parser.parse_args(["analyze", "c.mp4", "--symmetric"])  # the default now

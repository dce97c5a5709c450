"""The job runner on its own (no server): a worker that stops talking is stopped."""

from __future__ import annotations

import json
import sys
import time

from kneevision.web.db import WebDB, now
from kneevision.web.jobs import Runner


def _queue_job(data, path: str) -> int:
    with WebDB(data) as db:
        cur = db.conn.execute(
            "INSERT INTO web_jobs (patient_id, session_date, path, filename, protocol, side, "
            "notes, settings, status, created) VALUES (?,?,?,?,?,?,?,?,?,?)",
            ("P1", "2026-12-03", path, "clip.mp4", None, None, None, json.dumps({}),
             "queued", now()),
        )  # fmt: skip
        return int(cur.lastrowid)


def _wait_finished(data, job_id: int, timeout_s: float) -> dict:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        with WebDB(data) as db:
            row = db.one("SELECT * FROM web_jobs WHERE id = ?", (job_id,))
        if row["status"] not in ("queued", "running"):
            return row
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {row['status']} after {timeout_s} s")


def _run_job(tmp_path, worker: str, stall_s: float) -> dict:
    """One queued job through a runner whose worker is the Python code ``worker``."""
    data = tmp_path / "data"
    job_id = _queue_job(data, str(tmp_path / "clip.mp4"))
    runner = Runner(data, stall_s=stall_s)
    runner.command = [sys.executable, "-c", worker]
    runner.start()
    try:
        return _wait_finished(data, job_id, timeout_s=60)
    finally:
        runner.stop()


def test_a_silent_worker_is_stopped_and_its_job_fails_with_the_reason(tmp_path):
    started = time.monotonic()
    # Reads the job, reports one frame, then hangs far past the stall limit.
    row = _run_job(tmp_path, (
        "import json, sys, time; sys.stdin.readline(); "
        "print(json.dumps({'frames': 1, 'total': 100}), flush=True); time.sleep(120)"
    ), stall_s=1.0)  # fmt: skip
    assert row["status"] == "failed"
    assert "made no progress for 1 s" in row["error"]
    assert time.monotonic() - started < 60  # killed, not waited out (120 s)
    with WebDB(tmp_path / "data") as db:  # the failure is in the patient's record too
        trial = db.one("SELECT status, error FROM trials WHERE id = ?", (row["trial_id"],))
    assert trial["status"] == "failed" and "no progress" in trial["error"]


def test_a_worker_that_keeps_reporting_is_not_stopped(tmp_path):
    # Silent for no more than 0.3 s at a time over 3 s, three times the limit; then
    # an outcome of its own.
    row = _run_job(tmp_path, (
        "import json, sys, time; sys.stdin.readline()\n"
        "for k in range(10):\n"
        "    print(json.dumps({'frames': k + 1, 'total': 10}), flush=True); time.sleep(0.3)\n"
        "print(json.dumps({'outcome': {'status': 'failed', 'error': 'its own reason'}}),"
        " flush=True)"
    ), stall_s=1.0)  # fmt: skip
    assert row["status"] == "failed"
    assert row["error"] == "its own reason"

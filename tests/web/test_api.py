"""The JSON API on a real server: patients, uploads, the queue, a SIGKILL mid-analysis."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from tests.web.helpers import assert_private

pytestmark = pytest.mark.slow


def test_health_patients_and_one_trial(server_factory, clips):
    s = server_factory()
    assert s.get("/api/health") == (200, {"status": "ok"})
    assert s.post_json("/api/patients", {"patient_id": "P001", "name": "Ann"})[0] == 201
    assert s.post_json("/api/patients", {"patient_id": "P001"})[0] == 409
    assert s.post_json("/api/patients", {"patient_id": "../etc"})[0] == 422
    status, body = s.get("/api/patients")
    assert status == 200 and [p["patient_id"] for p in body] == ["P001"]

    status, queued = s.upload(clips["short"], patient_id="P001", session_date="2026-11-02",
                              protocol="auto", notes="before treatment")  # fmt: skip
    assert status == 202 and queued["status"] == "queued", queued
    seen = []
    while True:
        t = s.get(f"/api/trials/{queued['id']}")[1]
        seen.append(t["progress"])
        if t["status"] in ("done", "failed"):
            break
        assert t["status"] in ("queued", "running")
        time.sleep(0.3)
    assert t["status"] == "done", t
    assert t["progress"] == 1.0 and seen == sorted(seen)
    folder = next((s.data / "results" / "P001" / "2026-11-02").glob("*_kneevision"))
    assert t["summary"] == json.loads((folder / "summary.json").read_text())
    assert t["summary"]["protocol"] == "squat"

    status, trials = s.get("/api/patients/P001/trials")
    assert status == 200 and [x["id"] for x in trials] == [queued["id"]]
    assert trials[0]["notes"] == "before treatment" and trials[0]["status"] == "done"
    # the store shared with `kneevision batch` / `db` has the trial and its metrics
    with sqlite3.connect(s.data / "kneevision.db") as c:
        assert c.execute("SELECT COUNT(*) FROM trials WHERE status = 'done'").fetchone()[0] == 1
        assert c.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] > 10
    assert_private(s.data)
    assert s.get("/api/health") == (200, {"status": "ok"})


def test_bad_uploads_leave_nothing(server_factory, clips, tmp_path):
    s = server_factory(None, "--max-upload-mb", "1")
    s.post_json("/api/patients", {"patient_id": "P002"})
    status, body = s.upload(clips["text"], patient_id="P002")
    assert status == 415 and "not a video" in body["detail"], body
    big = tmp_path / "big.mp4"
    big.write_bytes(clips["short"].read_bytes()[:64] + b"\0" * 2_500_000)
    status, body = s.upload(big, patient_id="P002")
    assert status == 413 and "limit" in body["detail"], body
    status, body = s.upload(clips["short"], patient_id="NOBODY")
    assert status == 404, body
    status, body = s.upload(clips["short"], patient_id="P002", session_date="2026-13-45")
    assert status == 422, body
    uploads = [p for p in (s.data / "uploads").rglob("*") if p.is_file()]
    kept = [p for p in uploads if p.name.startswith("2026")]  # only the one accepted clip
    assert len(uploads) == len(kept) <= 1, uploads
    assert s.get("/api/health") == (200, {"status": "ok"})


def test_clip_with_no_person_fails_with_its_reason(server_factory, clips):
    s = server_factory()
    s.post_json("/api/patients", {"patient_id": "P003"})
    status, queued = s.upload(clips["empty"], patient_id="P003")
    assert status == 202
    t = s.wait_trial(queued["id"])
    assert t["status"] == "failed" and t["summary"] is None
    assert "no person" in t["error"] and "\n" not in t["error"]
    with sqlite3.connect(s.data / "kneevision.db") as c:
        rows = c.execute("SELECT status, error FROM trials").fetchall()
    assert rows == [("failed", t["error"])]


def test_sigkill_mid_analysis_then_restart_completes_once(server_factory, clips):
    s = server_factory()
    s.post_json("/api/patients", {"patient_id": "P004"})
    _, queued = s.upload(clips["short"], patient_id="P004", session_date="2026-11-03")
    deadline = time.monotonic() + 120
    while True:  # wait until the worker has analysed some frames
        t = s.get(f"/api/trials/{queued['id']}")[1]
        if t["status"] == "running" and t["frames"] > 5:
            break
        assert t["status"] in ("queued", "running") and time.monotonic() < deadline, t
        time.sleep(0.2)
    s.kill()
    time.sleep(1.0)
    # the worker died with the server: nothing is left analysing that clip
    import psutil

    workers = [p for p in psutil.process_iter(["cmdline"])
               if "kneevision.web.worker" in " ".join(p.info["cmdline"] or [])
               and p.ppid() == s.proc.pid]  # fmt: skip
    assert not workers
    s2 = server_factory(s.data, port=s.port, seed=False)
    t = s2.wait_trial(queued["id"])
    assert t["status"] == "done", t
    with sqlite3.connect(s.data / "kneevision.db") as c:
        assert c.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 1
        assert c.execute("SELECT attempts FROM web_jobs").fetchone()[0] == 2
    folders = list((s.data / "results").rglob("*_kneevision"))
    assert len(folders) == 1, folders
    assert not list((s.data / "results").rglob(".*.tmp"))
    assert len(s2.get("/api/patients/P004/trials")[1]) == 1

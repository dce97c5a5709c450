"""The job runner: clips from the persisted queue, one worker process at a time.

A thread of the server takes the oldest ``queued`` job, marks it ``running`` and
starts ``python -m kneevision.web.worker`` for it, reading its progress; when the
worker ends, the server (the only writer, as in ``kneevision batch``) makes the
output folder private, records the trial in the store and marks the job done or
failed. On start, jobs left ``running`` by a killed server are queued again (their
worker died with it, and the half-written folder is removed), so every job ends
exactly once: the store replaces a trial of the same clip and settings rather than
adding a second one. A worker that says nothing for :data:`STALL_S` seconds (no
progress line: a hung decoder, a stuck native call) is killed and its job marked
failed with that reason, so one bad clip cannot hold the queue for good.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from kneevision.summary import Summary
from kneevision.web import engine
from kneevision.web.db import WebDB, now

RESULTS = "results"
MAX_ATTEMPTS = 3
#: Seconds a worker may go without a progress line before it counts as stuck. It
#: reports every quarter second while it decodes; the longest silent steps (probing
#: and checking a large clip, writing the report) take well under a minute.
STALL_S = 600.0


class Runner:
    """Runs queued jobs in worker processes (``workers`` at a time; 1 by default)."""

    def __init__(self, data: Path, workers: int = 1, stall_s: float = STALL_S) -> None:
        self.data = Path(data)
        self.workers = max(1, workers)
        self.stall_s = stall_s
        #: The worker's command line (the job arrives as JSON on its stdin).
        self.command = [sys.executable, "-m", "kneevision.web.worker"]
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._procs: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()

    @property
    def out_root(self) -> Path:
        return self.data / RESULTS

    def recover(self) -> int:
        """Queue again the jobs a killed server left running; remove half-written folders."""
        with WebDB(self.data) as db:
            # A clip that took the server down with it three times is not tried again.
            db.conn.execute(
                "UPDATE web_jobs SET status = 'failed', finished = ?, error = 'the analysis was "
                "interrupted three times (the server stopped during it); upload the clip again' "
                "WHERE status = 'running' AND attempts >= ?",
                (now(), MAX_ATTEMPTS),
            )
            n = db.conn.execute(
                "UPDATE web_jobs SET status = 'queued', progress = 0, frames = 0, fps = NULL, "
                "eta_s = NULL WHERE status = 'running'"
            ).rowcount
        engine.clean_stale(self.out_root)
        return n

    def start(self) -> None:
        self.recover()
        for k in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"kneevision-jobs-{k}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            for proc in self._procs.values():
                proc.kill()
        for t in self._threads:
            t.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()

    def cancel(self, job_id: int) -> None:
        """Kill the job's worker if it runs (its state is set by the caller)."""
        with self._lock:
            proc = self._procs.get(job_id)
        if proc is not None:
            proc.kill()

    # --- the loop ---------------------------------------------------------------------

    def _claim(self, db: WebDB) -> dict | None:
        with db.store.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM web_jobs WHERE status = 'queued' ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE web_jobs SET status = 'running', started = ?, attempts = attempts + 1, "
                "progress = 0, frames = 0 WHERE id = ?",
                (now(), row["id"]),
            )
        return dict(row)

    def _loop(self) -> None:
        db = WebDB(self.data)
        try:
            while not self._stop.is_set():
                job = self._claim(db)
                if job is None:
                    self._wake.wait(1.0)
                    self._wake.clear()
                    continue
                self._run(db, job)
        finally:
            db.close()

    def _store_job(self, job: dict, settings: dict, model_sha: str) -> dict:
        store_job = {
            "patient": job["patient_id"],
            "date": job["session_date"],
            "path": job["path"],
            "protocol": job["protocol"],
            "side": job["side"],
            "notes": job["notes"],
        }
        store_job["settings_hash"] = engine.settings_hash(settings, store_job, model_sha)
        return store_job

    def _run(self, db: WebDB, job: dict) -> None:
        settings = json.loads(job["settings"])
        request = {
            "job": {"patient": job["patient_id"], "date": job["session_date"],
                    "path": job["path"], "protocol": job["protocol"], "side": job["side"]},
            "settings": settings,
            "out_root": str(self.out_root),
            "parent": os.getpid(),
        }  # fmt: skip
        proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "MPLBACKEND": "Agg"},
        )
        with self._lock:
            self._procs[job["id"]] = proc
        outcome: dict | None = None
        heard, ended, stalled = [time.monotonic()], threading.Event(), threading.Event()

        def watch() -> None:  # reading stdout blocks: a second thread keeps the time
            while not ended.wait(min(5.0, self.stall_s / 4)):
                if time.monotonic() - heard[0] > self.stall_s:
                    stalled.set()
                    proc.kill()
                    return

        threading.Thread(target=watch, name=f"kneevision-watch-{job['id']}", daemon=True).start()
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.close()
            first: tuple[float, int] | None = None
            for line in proc.stdout:
                heard[0] = time.monotonic()
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if "outcome" in msg:
                    outcome = msg["outcome"]
                    continue
                frames, total = int(msg.get("frames", 0)), int(msg.get("total", 0))
                t = time.monotonic()
                if first is None:
                    first = (t, frames)
                fps = eta = None
                if t > first[0] and frames > first[1]:
                    fps = (frames - first[1]) / (t - first[0])
                    eta = (total - frames) / fps if total else None
                progress = 0.95 * frames / total if total else 0.0
                db.conn.execute(
                    "UPDATE web_jobs SET progress = ?, frames = ?, total = ?, fps = ?, eta_s = ? "
                    "WHERE id = ? AND status = 'running'",
                    (progress, frames, total, fps, eta, job["id"]),
                )
            proc.wait()
        finally:
            ended.set()
            with self._lock:
                self._procs.pop(job["id"], None)
        state = db.one("SELECT status FROM web_jobs WHERE id = ?", (job["id"],))
        if state is None or state["status"] != "running":  # cancelled or deleted meanwhile
            if outcome and outcome.get("out_dir"):
                import shutil

                shutil.rmtree(outcome["out_dir"], ignore_errors=True)
            engine.clean_stale(self.out_root)
            return
        if self._stop.is_set() and outcome is None:
            return  # shutting down: queued again on the next start
        if outcome is None and stalled.is_set():
            why = (
                f"the analysis made no progress for {self.stall_s:.0f} s and was stopped; "
                "check that the clip plays, or convert it to MP4 and upload it again"
            )
            outcome = {"status": "failed", "error": why}
        elif outcome is None:
            why = f"the analysis stopped unexpectedly (exit code {proc.returncode})"
            outcome = {"status": "failed", "error": why}
        if outcome.get("out_dir"):
            engine.make_private(outcome["out_dir"])
        written = Summary.from_json(outcome["summary"]) if outcome.get("summary") else None
        model = written.model.sha256 if written is not None and written.model else None
        try:
            model = model or engine.model_sha256(settings.get("model", "full"))
        except Exception:
            model = "unknown"
        trial_id = engine.record(db.store, self._store_job(job, settings, model), outcome)
        db.conn.execute(
            "UPDATE web_jobs SET status = ?, progress = ?, error = ?, trial_id = ?, finished = ?, "
            "eta_s = 0 WHERE id = ?",
            (outcome["status"], 1.0 if outcome["status"] == "done" else 0.0,
             outcome.get("error"), trial_id, now(), job["id"]),
        )  # fmt: skip

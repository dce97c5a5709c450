"""The ``export`` setting on the settings page, and a trial read through the typed summary."""

from __future__ import annotations

import json
import re
import time

import pytest
from fastapi.testclient import TestClient

from kneevision import synthetic as S
from kneevision.errors import KneeVisionError
from kneevision.outputs import SUMMARY_SCHEMA_VERSION, write_json
from kneevision.protocols import prepare, run
from kneevision.settings import EXPORT_FORMATS
from kneevision.web import engine
from kneevision.web.app import create_app
from kneevision.web.db import WebDB
from tests.web.helpers import multipart


def _client(data, run_jobs: bool = False) -> TestClient:
    c = TestClient(create_app(data, run_jobs=run_jobs), base_url="http://127.0.0.1:8765")
    c.data = data
    return c


def _csrf(c: TestClient) -> str:
    return re.search(r'name="csrf-token" content="([0-9a-f]+)"', c.get("/patients").text)[1]


def _upload(c: TestClient, csrf: str, clip, patient: str = "P1", date: str = "2026-11-05") -> int:
    c.post("/api/patients", json={"patient_id": patient}, headers={"X-CSRF-Token": csrf})
    body, ctype = multipart(clip, {"patient_id": patient, "session_date": date})
    r = c.post(f"/trials/new?csrf={csrf}", content=body, headers={"content-type": ctype},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    return int(r.headers["location"].split("=")[1])


def test_the_served_exports_are_the_export_package_files():
    from kneevision.export import EXPORT_FORMATS as FILES

    assert engine.EXPORT_FILES == FILES and set(FILES) == set(EXPORT_FORMATS)
    assert set(FILES.values()) <= set(engine.SERVED_FILES)


def test_settings_page_offers_export_and_trials_are_analysed_with_it(tmp_path, clips, monkeypatch):
    with _client(tmp_path / "data") as c:
        csrf = _csrf(c)
        page = c.get("/settings").text
        for fmt in EXPORT_FORMATS:  # one checkbox per format, none ticked by default
            assert f'name="export" value="{fmt}" >' in page, fmt
        form = {"model": "lite", "fast": "on", "export": ["trc", "mot"], "csrf": csrf}
        r = c.post("/settings", data=form, follow_redirects=False)
        assert r.status_code == 303
        assert c.get("/api/settings").json()["export"] == ["trc", "mot"]
        page = c.get("/settings").text
        assert 'value="mot" checked' in page and 'value="c3d" checked' not in page
        trial = _upload(c, csrf, clips["short"])
        with WebDB(c.data) as db:
            job = db.one("SELECT * FROM web_jobs WHERE id = ?", (trial,))
        settings = json.loads(job["settings"])
        assert settings["export"] == ["trc", "mot"]
        # the worker's door hands them to the analysis (stopped there: no inference)
        seen = {}

        def analyze_clip(path, model, s, **kw):
            seen["export"] = s.export
            raise KneeVisionError("stopped by the test")

        monkeypatch.setattr("kneevision.api.analyze_clip", analyze_clip)
        monkeypatch.setattr("kneevision.batch._model", lambda spec: None)
        request = {"patient": "P1", "date": "2026-11-05", "path": job["path"],
                   "protocol": None, "side": None}  # fmt: skip
        out = engine.analyse(request, settings, tmp_path / "results")
        assert out == {"status": "failed", "error": "stopped by the test"}
        assert seen["export"] == ("trc", "mot")
        # unticking every box clears it; an unknown format is refused by the API
        r = c.post("/settings", data={"model": "lite", "fast": "on", "csrf": csrf})
        assert c.get("/api/settings").json()["export"] == []
        r = c.put("/api/settings", json={"export": ["bvh"]}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 422 and "export" in r.json()["detail"]


def _done_trial(c: TestClient, trial: int, tmp_path) -> dict:
    """Finish a queued trial with a summary made from a synthetic squat (no inference)."""
    seq = S.squat_scene(3, depth_deg=60.0).observe(S.Camera.facing([0, 0.6, 0], distance=3.5),
                                                  noise_px=0.5, noise_m=0.003, seed=1)  # fmt: skip
    result = run("squat", prepare(seq))
    summary = {"schema_version": SUMMARY_SCHEMA_VERSION, "kneevision_version": "test",
               "input": {"path": "clip.mp4", "duration_s": 4.0},
               "settings": {"export": ["mot"]}, **result.to_dict(),
               "outputs": ["summary.json", "angles.mot"]}  # fmt: skip
    folder = tmp_path / "trial_kneevision"
    folder.mkdir()
    write_json(folder / "summary.json", summary)
    (folder / "angles.mot").write_text("angles\nversion=1\ninDegrees=yes\nendheader\ntime\n0\n")
    with WebDB(c.data) as db:
        job = db.one("SELECT * FROM web_jobs WHERE id = ?", (trial,))
        store_job = {"patient": job["patient_id"], "date": job["session_date"],
                     "path": job["path"], "settings_hash": "test"}  # fmt: skip
        summary = json.loads((folder / "summary.json").read_text())
        outcome = {"status": "done", "out_dir": str(folder), "summary": summary}
        trial_id = engine.record(db.store, store_job, outcome)
        db.conn.execute("UPDATE web_jobs SET status = 'done', trial_id = ? WHERE id = ?",
                        (trial_id, trial))  # fmt: skip
    return summary


def test_trial_page_reads_the_typed_summary_and_offers_the_exports(tmp_path, clips):
    with _client(tmp_path / "data") as c:
        csrf = _csrf(c)
        trial = _upload(c, csrf, clips["short"])
        summary = _done_trial(c, trial, tmp_path)
        assert c.get(f"/api/trials/{trial}").json()["summary"] == summary
        page = c.get(f"/trials/{trial}").text
        reps = [r for r in summary["reps"] if r.get("start_s") is not None]
        assert reps and page.count('class="seek rep-button"') == len(reps)
        assert 'id="numbers"' in page and 'data-metric="peak_knee_flexion_deg"' in page
        assert 'id="download-mot"' in page and 'id="download-trc"' not in page  # only what exists
        r = c.get(f"/trials/{trial}/download/mot")
        assert r.status_code == 200 and "inDegrees=yes" in r.text
        assert "attachment" in r.headers["content-disposition"]
        assert c.get(f"/trials/{trial}/download/trc").status_code == 404


@pytest.mark.slow  # pose inference on a 5 s clip, in the web app's worker process
def test_export_chosen_on_the_settings_page_is_written_by_the_analysis(tmp_path, clips):
    with _client(tmp_path / "data", run_jobs=True) as c:
        csrf = _csrf(c)
        form = {"model": "lite", "fast": "on", "export": ["mot"], "csrf": csrf}
        assert c.post("/settings", data=form, follow_redirects=False).status_code == 303
        trial = _upload(c, csrf, clips["short"])
        deadline = time.monotonic() + 600
        while (t := c.get(f"/api/trials/{trial}").json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, t
            time.sleep(0.5)
        assert t["status"] == "done", t
        assert t["summary"]["settings"]["export"] == ["mot"]
        assert "angles.mot" in t["summary"]["outputs"]
        folder = next((c.data / "results" / "P1" / "2026-11-05").glob("*_kneevision"))
        assert "inDegrees=yes" in (folder / "angles.mot").read_text()
        assert not (folder / "landmarks.trc").exists()
        assert 'id="download-mot"' in c.get(f"/trials/{trial}").text

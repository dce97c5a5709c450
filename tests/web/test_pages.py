"""Pages and API without analyses (the job runner off): forms, search, settings, events."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from kneevision.web.app import create_app
from kneevision.web.db import WebDB
from tests.web.helpers import multipart


@pytest.fixture
def client(tmp_path):
    app = create_app(tmp_path / "data", run_jobs=False)
    with TestClient(app, base_url="http://127.0.0.1:8765") as c:
        c.get("/patients")
        c.csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', c.get("/patients").text)[1]
        c.data = tmp_path / "data"
        yield c


def test_patients_add_search_edit(client):
    for pid, name in (("P1", "Ann"), ("P2", "Bob")):
        r = client.post("/patients", data={"patient_id": pid, "name": name, "csrf": client.csrf},
                        follow_redirects=False)  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == f"/patients/{pid}"
    r = client.post("/patients", data={"patient_id": "P1", "csrf": client.csrf})
    assert r.status_code == 409 and "exists already" in r.text
    r = client.post("/patients", data={"patient_id": "../x", "csrf": client.csrf})
    assert r.status_code == 422
    page = client.get("/patients", params={"q": "bob"}).text
    assert "P2" in page and "/patients/P1" not in page
    form = {"name": "Ann B.", "notes": "ACL repair, left", "csrf": client.csrf}
    r = client.post("/patients/P1/edit", data=form, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/patients/P1").text
    assert "Ann B." in page and "ACL repair, left" in page
    assert client.get("/api/patients/P1").json()["name"] == "Ann B."


def test_upload_queue_cancel_and_events(client, clips):
    client.post("/api/patients", json={"patient_id": "P1"}, headers={"X-CSRF-Token": client.csrf})
    body, ctype = multipart(clips["short"], {"patient_id": "P1", "session_date": "2026-11-05",
                                             "side": "left", "notes": "after"})  # fmt: skip
    r = client.post(f"/trials/new?csrf={client.csrf}", content=body,
                    headers={"content-type": ctype}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith("/queue?new=")
    trial = int(r.headers["location"].split("=")[1])
    t = client.get(f"/api/trials/{trial}").json()
    assert (t["status"], t["side"], t["notes"], t["summary"]) == ("queued", "left", "after", None)
    upload = next((client.data / "uploads" / "P1").iterdir())
    assert upload.stat().st_mode & 0o777 == 0o600
    assert f'data-id="{trial}"' in client.get("/queue").text
    with client.stream("GET", "/api/queue/events") as events:
        line = next(ln for ln in events.iter_lines() if ln.startswith("data: "))
    assert json.loads(line[6:])[0]["id"] == trial
    r = client.post(f"/trials/{trial}/cancel", data={"csrf": client.csrf}, follow_redirects=False)
    assert r.status_code == 303
    t = client.get(f"/api/trials/{trial}").json()
    assert (t["status"], t["error"]) == ("failed", "cancelled")
    assert not upload.exists()
    assert "could not be analysed: cancelled" in client.get(f"/trials/{trial}").text


def test_settings_page_saves_validated_defaults(client):
    page = client.get("/settings").text
    assert 'name="blur_faces" checked' in page  # faces blurred by default here
    r = client.post("/settings", data={"model": "lite", "fast": "on", "protocol": "squat",
                                       "max_people": "1", "cutoff_hz": "5",
                                       "valgus_warn_deg": "12", "overlay_max_side": "720",
                                       "csrf": client.csrf}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    s = client.get("/api/settings").json()
    assert (s["model"], s["fast"], s["blur_faces"], s["cutoff_hz"]) == ("lite", True, False, 5.0)
    r = client.post("/settings", data={"model": "lite", "cutoff_hz": "500", "csrf": client.csrf})
    assert r.status_code == 422 and "cutoff" in r.text
    assert client.get("/api/settings").json()["cutoff_hz"] == 5.0
    with WebDB(client.data) as db:
        assert db.q("SELECT action FROM web_audit WHERE action = 'change settings'")


def test_unknown_ids_are_404(client):
    for path in ("/trials/99", "/api/trials/99", "/patients/NOPE", "/compare?a=1&b=2",
                 "/trials/99/download/pdf", "/trials/abc"):  # fmt: skip
        assert client.get(path).status_code in (404, 422), path

"""Security: LAN mode needs users and logins, CSRF, rate limits, no traversal, erasure."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from kneevision.web import security
from kneevision.web.app import create_app
from kneevision.web.db import WebDB
from tests.web.helpers import REPO, assert_private, multipart

PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


@pytest.fixture
def lan(tmp_path):
    data = tmp_path / "data"
    app = create_app(data, lan=True, run_jobs=False)
    with WebDB(data) as db:
        security.add_user(db, "anna", PASSWORD)
    with TestClient(app, base_url="http://clinic.local") as client:
        yield client, data


def login(client: TestClient, name: str = "anna", password: str = PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf": csrf_of(page.text), "next": "/patients"},
                       follow_redirects=False)  # fmt: skip


def test_lan_mode_without_a_user_refuses_to_start(tmp_path):
    r = subprocess.run([sys.executable, "-m", "kneevision.web", "serve", "--host", "0.0.0.0",
                        "--data", str(tmp_path / "d"), "--no-browser", "--port", "0"],
                       cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2
    assert "users add" in r.stderr


def test_users_command_hashes_with_scrypt(tmp_path):
    data = tmp_path / "d"
    r = subprocess.run([sys.executable, "-m", "kneevision.web", "users", "add", "ben",
                        "--password-stdin", "--data", str(data)], input=PASSWORD + "\n",
                       cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    cmd = [sys.executable, "-m", "kneevision.web", "users", "--data", str(data), "token", "ben"]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("kv_"), r.stderr
    with WebDB(data) as db:
        stored = db.one("SELECT password FROM web_users WHERE name = 'ben'")["password"]
        assert stored.startswith("scrypt$") and PASSWORD not in stored
        assert security.verify_login(db, "ben", PASSWORD)
        assert not security.verify_login(db, "ben", "wrong password")
    assert_private(data)


def test_unauthenticated_calls_get_401(lan):
    client, _ = lan
    for path in ("/patients", "/queue", "/settings", "/trials/1", "/patients/P1"):
        r = client.get(path)
        assert r.status_code == 401 and "Log in" in r.text, path
    for method, path in (("GET", "/api/patients"), ("POST", "/api/patients"),
                         ("GET", "/api/trials/1"), ("GET", "/api/queue/events")):  # fmt: skip
        assert client.request(method, path).status_code == 401, path
    assert client.get("/api/patients", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/health").status_code == 200
    client.cookies.set(security.SESSION_COOKIE, "local.made-while-served-locally")
    assert client.get("/patients").status_code == 401


def test_login_cookie_and_token(lan):
    client, data = lan
    r = login(client)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert client.get("/patients").status_code == 200
    with WebDB(data) as db:
        token = security.new_token(db, "anna")
    fresh = TestClient(client.app, base_url="http://clinic.local")
    r = fresh.post("/api/patients", json={"patient_id": "P9"},
                   headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 201
    r = fresh.get("/api/patients", headers={"Authorization": f"Bearer {token}"})
    assert [p["patient_id"] for p in r.json()] == ["P9"]


def test_login_is_rate_limited(lan):
    client, _ = lan
    codes = [login(client, password=f"wrong {k}").status_code for k in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert login(client).status_code == 429  # even the right password, for a while


def test_forged_forms_are_refused(lan):
    client, _ = lan
    login(client)
    r = client.post("/patients", data={"patient_id": "P1"})  # no CSRF token
    assert r.status_code == 403
    r = client.post("/patients", data={"patient_id": "P1", "csrf": "0" * 64})
    assert r.status_code == 403
    r = client.post("/api/patients", json={"patient_id": "P1"})  # a cookie, no X-CSRF-Token
    assert r.status_code == 403
    body, ctype = multipart(None, {"patient_id": "P1"})
    r = client.post("/trials/new", content=body, headers={"content-type": ctype})
    assert r.status_code == 403
    token = csrf_of(client.get("/patients").text)
    r = client.post("/patients", data={"patient_id": "P1", "csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    r = client.post("/api/patients", json={"patient_id": "P2"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 201


def test_local_mode_refuses_cross_site_posts(tmp_path):
    app = create_app(tmp_path / "d", run_jobs=False)
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        r = client.post("/api/patients", json={"patient_id": "P1"},
                        headers={"Origin": "http://evil.example"})  # fmt: skip
        assert r.status_code == 403
        client.get("/patients")  # a browser: it has a session cookie now
        assert client.post("/api/patients", json={"patient_id": "P1"}).status_code == 403
        client.cookies.clear()  # software on this computer (curl, a script): no browser
        assert client.post("/api/patients", json={"patient_id": "P1"}).status_code == 201


def test_csp_and_no_path_traversal(lan):
    client, data = lan
    login(client)
    r = client.get("/patients")
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    (data / "secret.txt").write_text("x")
    for path in (
        "/static/../kneevision.db",
        "/static/%2e%2e/kneevision.db",
        "/patients/..%2F..%2Fetc%2Fpasswd",
        "/patients/../../etc/passwd",
        "/trials/1/files/..%2F..%2Fkneevision.db",
        "/trials/1/files/secret.txt",
        "/trials/1/download/..%2Fsummary.json",
        "/api/patients/..%2Fsecret.txt/trials",
    ):
        assert client.get(path).status_code == 404, path


def test_delete_patient_removes_every_file(lan):
    client, data = lan
    login(client)
    token = csrf_of(client.get("/patients").text)
    client.post("/patients", data={"patient_id": "P5", "csrf": token})
    folder = data / "results" / "P5" / "2026-11-01" / "clip_kneevision"
    folder.mkdir(parents=True)
    (folder / "overlay.mp4").write_bytes(b"x")
    upload = data / "uploads" / "P5" / "2026-11-01_clip.mp4"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"x")
    with WebDB(data) as db:
        db.store.record_trial({"patient": "P5", "date": "2026-11-01", "path": str(upload),
                               "settings_hash": "h"}, {"status": "done", "out_dir": str(folder),
                               "summary": {}})  # fmt: skip
    assert client.get("/api/patients/P5/trials").json()[0]["status"] == "done"
    r = client.get("/patients/P5/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    r = client.post("/patients/P5/delete", data={"csrf": token, "confirm": "P5"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert not folder.exists() and not upload.exists()
    assert not (data / "results" / "P5").exists() and not (data / "uploads" / "P5").exists()
    assert client.get("/patients/P5").status_code == 404
    with WebDB(data) as db:
        assert db.q("SELECT * FROM trials") == []
        actions = [a["action"] for a in db.q("SELECT action FROM web_audit WHERE patient_id='P5'")]
    assert "create patient" in actions and "export patient" in actions
    assert "delete patient" in actions
    assert_private(data)

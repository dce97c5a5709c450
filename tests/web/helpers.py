"""Helpers of the web app tests: a server in a subprocess, uploads, permission checks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.helpers import SHARED_SAMPLES

REPO = Path(__file__).resolve().parents[2]
SHORT_CLIP = SHARED_SAMPLES / "front_goblet_squat_home_A_rotated.mp4"  # 5 s, the same squat
#: Fast analyses: the lite model, one pass a frame.
TEST_SETTINGS = {"model": "lite", "fast": True}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_settings(data: Path, settings: dict = TEST_SETTINGS) -> None:
    from kneevision.web.app import prepare_data
    from kneevision.web.db import WebDB

    prepare_data(data)
    with WebDB(data) as db:
        db.set_analysis_settings(settings)


class Server:
    """``python -m kneevision.web serve`` in a subprocess."""

    def __init__(self, data: Path, port: int | None = None, *args: str) -> None:
        self.data = data
        self.port = port or free_port()
        self.args = args
        self.proc: subprocess.Popen | None = None
        host = args[args.index("--host") + 1] if "--host" in args else "127.0.0.1"
        self.url = f"http://{host}:{self.port}"

    def start(self, wait: bool = True) -> Server:
        cmd = [sys.executable, "-m", "kneevision.web", "serve", "--data", str(self.data),
               "--port", str(self.port), "--no-browser", *self.args]  # fmt: skip
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, "MPLBACKEND": "Agg"})  # fmt: skip
        if wait:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server ended: {self.proc.stdout.read()}")
                try:
                    if self.get("/api/health")[0] == 200:
                        return self
                except OSError:
                    time.sleep(0.2)
            raise RuntimeError("server did not start")
        return self

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict | str]:  # fmt: skip
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers=headers or {})  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, raw, ctype = r.status, r.read(), r.headers.get("content-type", "")
        except urllib.error.HTTPError as e:
            status, raw, ctype = e.code, e.read(), e.headers.get("content-type", "")
        text = raw.decode("utf-8", "replace")
        return status, json.loads(text) if "json" in ctype else text

    def get(self, path: str, **kw) -> tuple[int, dict | str]:
        return self.request("GET", path, **kw)

    def post_json(self, path: str, data: dict) -> tuple[int, dict | str]:
        return self.request("POST", path, json.dumps(data).encode(),
                            {"content-type": "application/json"})  # fmt: skip

    def upload(self, path: Path, **fields: str) -> tuple[int, dict | str]:
        body, ctype = multipart(path, fields)
        return self.request("POST", "/api/trials", body, {"content-type": ctype})

    def wait_trial(self, trial_id: int, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, t = self.get(f"/api/trials/{trial_id}")
            assert status == 200, t
            if t["status"] in ("done", "failed"):
                return t
            time.sleep(0.5)
        raise AssertionError(f"trial {trial_id} did not end: {t}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def multipart(path: Path | None, fields: dict, name: str = "file") -> tuple[bytes, str]:
    boundary = "----kneevision-test-boundary"
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                     .encode())  # fmt: skip
    if path is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{path.name}"\r\nContent-Type: video/mp4\r\n\r\n'.encode()
                     + path.read_bytes() + b"\r\n")  # fmt: skip
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def assert_private(root: Path) -> None:
    """Nothing under root readable, writable or enterable by group or others."""
    bad = [str(p) for p in [root, *root.rglob("*")] if p.stat().st_mode & 0o077]
    assert not bad, f"readable by others: {bad[:5]}"

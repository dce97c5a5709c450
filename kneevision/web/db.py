"""The web app's own tables, in the store's SQLite file (``web_*``; the store's untouched).

``web_jobs`` is the persisted queue (one row per uploaded clip, the public trial id),
``web_patients`` the names and notes the store has no column for, ``web_users``,
``web_tokens`` and ``web_sessions`` the logins, ``web_audit`` who viewed or changed
which patient, ``web_settings`` the analysis defaults and the server's secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import sqlite3
from pathlib import Path

from kneevision.web import engine

SCHEMA = """
CREATE TABLE IF NOT EXISTS web_jobs (
    id INTEGER PRIMARY KEY,
    patient_id TEXT NOT NULL,
    session_date TEXT NOT NULL,
    path TEXT NOT NULL,
    filename TEXT,
    protocol TEXT,
    side TEXT,
    notes TEXT,
    settings TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    frames INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    fps REAL,
    eta_s REAL,
    error TEXT,
    trial_id INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    created_by TEXT
);
CREATE INDEX IF NOT EXISTS web_jobs_by_status ON web_jobs (status, id);
CREATE INDEX IF NOT EXISTS web_jobs_by_patient ON web_jobs (patient_id);
CREATE TABLE IF NOT EXISTS web_patients (
    id TEXT PRIMARY KEY,
    name TEXT,
    notes TEXT,
    updated TEXT
);
CREATE TABLE IF NOT EXISTS web_users (
    name TEXT PRIMARY KEY,
    password TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS web_tokens (
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES web_users(name) ON DELETE CASCADE,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS web_sessions (
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    created TEXT NOT NULL,
    expires TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS web_audit (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    patient_id TEXT,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS web_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

#: Job states; the API shows ``cancelled`` as ``failed`` with the reason "cancelled".
STATES = ("queued", "running", "done", "failed", "cancelled")


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebDB:
    """A connection to the data folder's database, with the web tables created.

    One per thread: the server's request handlers and the job runner each open theirs.
    """

    def __init__(self, data: str | Path) -> None:
        self.data = Path(data)
        self.store = engine.open_store(self.data)  # creates the store's schema, 0600
        self.conn: sqlite3.Connection = self.store.conn
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> WebDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def q(self, sql: str, args: tuple = ()) -> list[dict]:
        return [dict(r) for r in self.conn.execute(sql, args).fetchall()]

    def one(self, sql: str, args: tuple = ()) -> dict | None:
        row = self.conn.execute(sql, args).fetchone()
        return dict(row) if row else None

    # --- settings ---------------------------------------------------------------------

    def get(self, key: str, default: str | None = None) -> str | None:
        row = self.one("SELECT value FROM web_settings WHERE key = ?", (key,))
        return row["value"] if row else default

    def put(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO web_settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def secret(self) -> bytes:
        """The server's signing secret (made once, kept in the database)."""
        value = self.get("secret")
        if value is None:
            self.conn.execute(
                "INSERT OR IGNORE INTO web_settings (key, value) VALUES ('secret', ?)",
                (secrets.token_hex(32),),
            )
            value = self.get("secret")
        return bytes.fromhex(value or "")

    def analysis_settings(self) -> dict:
        """The analysis defaults chosen on the settings page (validated)."""
        return engine.check_settings(json.loads(self.get("analysis", "{}") or "{}"))

    def set_analysis_settings(self, values: dict) -> dict:
        checked = engine.check_settings(values)
        chosen = {k: checked[k] for k in engine.PAGE_SETTINGS if k in checked}
        self.put("analysis", json.dumps(chosen))
        return checked

    # --- audit ------------------------------------------------------------------------

    def audit(self, user: str, action: str, patient_id: str | None = None,
              detail: str | None = None) -> None:  # fmt: skip
        self.conn.execute(
            "INSERT INTO web_audit (time, user, action, patient_id, detail) VALUES (?,?,?,?,?)",
            (now(), user, action, patient_id, detail),
        )

    # --- users ------------------------------------------------------------------------

    def users(self) -> list[str]:
        return [r["name"] for r in self.q("SELECT name FROM web_users ORDER BY name")]

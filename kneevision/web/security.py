"""Logins, tokens, CSRF and the login rate limit.

Passwords are hashed with scrypt (standard library; n=2**14, r=8, p=1, 16-byte salt).
A login session is a random token in an HttpOnly, SameSite=Strict cookie; the
database keeps only its sha256. API tokens (``kneevision users token NAME``) are sent
as ``Authorization: Bearer``. Forms carry a CSRF token: an HMAC of the session's
token with the server's secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time

from kneevision.web.db import WebDB, digest, now

SESSION_COOKIE = "kv_session"
SESSION_DAYS = 7
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
#: Failed logins allowed per client address and name within the window.
LOGIN_LIMIT = 5
LOGIN_WINDOW_S = 300.0
NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${key.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, key = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(bytes.fromhex(key)))  # fmt: skip
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), key)


def valid_name(name: str) -> bool:
    return 0 < len(name) <= 64 and set(name) <= NAME_OK


def add_user(db: WebDB, name: str, password: str) -> None:
    if not valid_name(name):
        raise ValueError("a user name is 1-64 letters, digits or . _ - @")
    if len(password) < 8:
        raise ValueError("a password has at least 8 characters")
    db.conn.execute(
        "INSERT INTO web_users (name, password, created) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET password = excluded.password",
        (name, hash_password(password), now()),
    )
    db.conn.execute("DELETE FROM web_sessions WHERE user = ?", (name,))


def delete_user(db: WebDB, name: str) -> bool:
    cur = db.conn.execute("DELETE FROM web_users WHERE name = ?", (name,))
    db.conn.execute("DELETE FROM web_sessions WHERE user = ?", (name,))
    db.conn.execute("DELETE FROM web_tokens WHERE user = ?", (name,))
    return cur.rowcount == 1


def new_token(db: WebDB, name: str) -> str:
    if db.one("SELECT 1 FROM web_users WHERE name = ?", (name,)) is None:
        raise ValueError(f"no user {name!r}")
    token = "kv_" + secrets.token_urlsafe(32)
    db.conn.execute("INSERT INTO web_tokens (hash, user, created) VALUES (?, ?, ?)",
                    (digest(token), name, now()))  # fmt: skip
    return token


def verify_login(db: WebDB, name: str, password: str) -> bool:
    row = db.one("SELECT password FROM web_users WHERE name = ?", (name,))
    if row is None:
        check_password(password, hash_password("x" * 8))  # same time as a wrong password
        return False
    return check_password(password, row["password"])


def new_session(db: WebDB, user: str) -> str:
    token = secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=SESSION_DAYS)
    db.conn.execute("DELETE FROM web_sessions WHERE expires < ?", (now(),))
    db.conn.execute(
        "INSERT INTO web_sessions (hash, user, created, expires) VALUES (?, ?, ?, ?)",
        (digest(token), user, now(), expires.isoformat(timespec="seconds")),
    )
    return token


def session_user(db: WebDB, token: str | None) -> str | None:
    if not token:
        return None
    row = db.one("SELECT user, expires FROM web_sessions WHERE hash = ?", (digest(token),))
    if row is None or row["expires"] < now():
        return None
    return row["user"]


def end_session(db: WebDB, token: str | None) -> None:
    if token:
        db.conn.execute("DELETE FROM web_sessions WHERE hash = ?", (digest(token),))


def token_user(db: WebDB, token: str) -> str | None:
    row = db.one("SELECT user FROM web_tokens WHERE hash = ?", (digest(token),))
    return row["user"] if row else None


def csrf_token(secret: bytes, session: str) -> str:
    return hmac.new(secret, b"csrf:" + session.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, session: str | None, sent: str | None) -> bool:
    if not session or not sent:
        return False
    return hmac.compare_digest(csrf_token(secret, session), sent)


class RateLimit:
    """At most ``limit`` failures per key within ``window`` seconds (in memory)."""

    def __init__(self, limit: int = LOGIN_LIMIT, window: float = LOGIN_WINDOW_S) -> None:
        self.limit, self.window = limit, window
        self._fails: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> list[float]:
        cutoff = time.monotonic() - self.window
        fails = [t for t in self._fails.get(key, []) if t > cutoff]
        self._fails[key] = fails
        return fails

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key)) >= self.limit

    def fail(self, key: str) -> None:
        with self._lock:
            self._recent(key).append(time.monotonic())

    def clear(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)

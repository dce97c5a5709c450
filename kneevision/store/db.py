"""The patient database: SQLite (standard library), embedded, one file, owner-only.

Tables: ``patients``, ``sessions`` (a patient on a date), ``trials`` (one clip
analysed with given settings: its sha256, status, error, output folder) and
``metrics`` (one row per metric per side, per repetition and aggregated).
WAL mode and foreign keys are on; the schema is versioned with ``PRAGMA
user_version`` and migrated forward on open. Only the coordinating process
writes, each trial in one transaction.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kneevision.errors import KneeVisionError
from kneevision.summary import Summary

#: Migrations, in order: ``MIGRATIONS[k]`` takes the schema from version k to k + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE patients (
        id TEXT PRIMARY KEY,
        created TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
        date TEXT NOT NULL,
        UNIQUE (patient_id, date)
    );
    CREATE TABLE trials (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        sha256 TEXT,
        settings_hash TEXT NOT NULL,
        protocol TEXT,
        side TEXT,
        notes TEXT,
        status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
        error TEXT,
        out_dir TEXT,
        finished TEXT NOT NULL,
        UNIQUE (session_id, path, settings_hash)
    );
    CREATE INDEX trials_by_content ON trials (sha256, settings_hash);
    CREATE TABLE metrics (
        id INTEGER PRIMARY KEY,
        trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        side TEXT NOT NULL,
        rep INTEGER,
        metric TEXT NOT NULL,
        value REAL
    );
    CREATE INDEX metrics_by_trial ON metrics (trial_id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Store:
    """A KneeVision database file.

    Parameters
    ----------
    path : str or Path
        Created (readable by the owner only) when missing.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        new = not self.path.exists()
        try:
            if new:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)  # patient data
                os.close(fd)
            self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.row_factory = sqlite3.Row
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise KneeVisionError(f"not a usable KneeVision database ({exc})", self.path) from None
        except OSError as exc:
            raise KneeVisionError(f"cannot open the database ({exc.strerror})", self.path) from None

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise KneeVisionError(
                f"database schema {version} is newer than this KneeVision ({SCHEMA_VERSION})",
                self.path,
            )
        for k in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in MIGRATIONS[k].split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {k + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing -----------------------------------------------------------------------

    def _session(self, patient: str, date: str) -> int:
        self.conn.execute(
            "INSERT OR IGNORE INTO patients (id, created) VALUES (?, ?)", (patient, _now())
        )
        self.conn.execute(
            "INSERT OR IGNORE INTO sessions (patient_id, date) VALUES (?, ?)", (patient, date)
        )
        row = self.conn.execute(
            "SELECT id FROM sessions WHERE patient_id = ? AND date = ?", (patient, date)
        ).fetchone()
        return int(row[0])

    def record_trial(self, job: dict, outcome: dict) -> int:
        """Store one clip's outcome (replacing an earlier try of the same clip and settings).

        Parameters
        ----------
        job : dict
            ``patient, date, path, sha256, settings_hash, protocol, side, notes``.
        outcome : dict
            ``status`` (``done``/``failed``), ``error``, ``out_dir``, and for a done
            trial ``summary`` (the clip's summary.json).
        """
        with self.transaction():
            session = self._session(job["patient"], job["date"])
            self.conn.execute(
                "DELETE FROM trials WHERE session_id = ? AND path = ? AND settings_hash = ?",
                (session, job["path"], job["settings_hash"]),
            )
            summary = Summary.from_json(outcome["summary"]) if outcome.get("summary") else None
            cur = self.conn.execute(
                "INSERT INTO trials (session_id, path, sha256, settings_hash, protocol, side, "
                "notes, status, error, out_dir, finished) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    session,
                    job["path"],
                    job.get("sha256"),
                    job["settings_hash"],
                    summary.protocol if summary else job.get("protocol"),
                    job.get("side"),
                    job.get("notes"),
                    outcome["status"],
                    outcome.get("error"),
                    outcome.get("out_dir"),
                    _now(),
                ),
            )
            trial = int(cur.lastrowid)
            self.conn.executemany(
                "INSERT INTO metrics (trial_id, side, rep, metric, value) VALUES (?,?,?,?,?)",
                [(trial, *row) for row in (metric_rows(summary) if summary else [])],
            )
        return trial

    # --- reading -----------------------------------------------------------------------

    def done(self, job: dict) -> bool:
        """Whether this clip (same patient, date, content and settings) was analysed already."""
        row = self.conn.execute(
            "SELECT 1 FROM trials t JOIN sessions s ON s.id = t.session_id "
            "WHERE s.patient_id = ? AND s.date = ? AND t.sha256 = ? AND t.settings_hash = ? "
            "AND t.status = 'done'",
            (job["patient"], job["date"], job["sha256"], job["settings_hash"]),
        ).fetchone()
        return row is not None

    def patients(self) -> list[sqlite3.Row]:
        """Patients with their number of sessions and trials."""
        return self.conn.execute(
            "SELECT p.id, COUNT(DISTINCT s.id) AS sessions, COUNT(t.id) AS trials, "
            "SUM(t.status = 'failed') AS failed, MAX(s.date) AS last "
            "FROM patients p LEFT JOIN sessions s ON s.patient_id = p.id "
            "LEFT JOIN trials t ON t.session_id = s.id GROUP BY p.id ORDER BY p.id"
        ).fetchall()

    def history(self, patient: str, metric: str) -> list[sqlite3.Row]:
        """A metric's aggregate value per session and side (mean over the day's trials)."""
        return self.conn.execute(
            "SELECT s.date, m.side, AVG(m.value) AS value, COUNT(*) AS n "
            "FROM metrics m JOIN trials t ON t.id = m.trial_id "
            "JOIN sessions s ON s.id = t.session_id "
            "WHERE s.patient_id = ? AND m.metric = ? AND m.rep IS NULL AND t.status = 'done' "
            "GROUP BY s.date, m.side ORDER BY s.date, m.side",
            (patient, metric),
        ).fetchall()

    def metrics_of(self, patient: str) -> list[str]:
        """The aggregate metrics stored for a patient."""
        rows = self.conn.execute(
            "SELECT DISTINCT m.metric FROM metrics m JOIN trials t ON t.id = m.trial_id "
            "JOIN sessions s ON s.id = t.session_id WHERE s.patient_id = ? AND m.rep IS NULL "
            "ORDER BY m.metric",
            (patient,),
        ).fetchall()
        return [r[0] for r in rows]

    def trials(self) -> list[sqlite3.Row]:
        """Every trial with its patient and date."""
        return self.conn.execute(
            "SELECT s.patient_id, s.date, t.* FROM trials t JOIN sessions s ON s.id = t.session_id "
            "ORDER BY s.patient_id, s.date, t.path"
        ).fetchall()

    def export_rows(self) -> Iterator[tuple]:
        """Tidy rows for CSV export: one per metric value."""
        yield ("patient_id", "session_date", "path", "protocol", "status", "side", "rep",
               "metric", "value")  # fmt: skip
        yield from self.conn.execute(
            "SELECT s.patient_id, s.date, t.path, t.protocol, t.status, m.side, m.rep, m.metric, "
            "m.value FROM metrics m JOIN trials t ON t.id = m.trial_id "
            "JOIN sessions s ON s.id = t.session_id ORDER BY s.patient_id, s.date, t.path, m.id"
        )


def metric_rows(summary: Summary | dict) -> list[tuple[str, int | None, str, float | None]]:
    """``(side, rep, metric, value)`` rows from a summary: per rep, then aggregate (rep NULL).

    Booleans (``valgus_warning``) and text are not metrics; a rep's timing marks
    (start, bottom, end) are not either.
    """
    if not isinstance(summary, Summary):
        summary = Summary.from_json(summary)
    rows: list[tuple[str, int | None, str, float | None]] = []
    for r in summary.reps:
        for k, v in r.extra.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                rows.append((r.side, r.rep, k, _num(v)))
    for side, metrics in summary.sides.items():
        for k, stat in metrics.metrics.items():
            rows.append((side, None, k, _num(stat.value)))
    for k, stat in summary.bilateral.items():
        rows.append(("both", None, k, _num(stat.value)))
    return rows


def _num(v: object) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None

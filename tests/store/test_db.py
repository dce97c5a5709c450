"""The SQLite store: schema, migrations, permissions, transactions, queries."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from kneevision.errors import KneeVisionError
from kneevision.store import SCHEMA_VERSION, Store, metric_rows

SUMMARY = {
    "schema_version": 2,
    "kneevision_version": "0.1.0",
    "protocol": "squat",
    "view": "front",
    "reps": [
        {"side": "left", "rep": 1, "start_s": 0.0, "bottom_s": 1.0, "end_s": 2.0,
         "peak_fppa_deg": 12.5, "valgus_warning": True},
        {"side": "right", "rep": 1, "start_s": 0.0, "bottom_s": 1.0, "end_s": 2.0,
         "peak_fppa_deg": 4.0, "valgus_warning": False},
    ],
    "sides": {"left": {"peak_fppa_deg": {"value": 12.5, "n": 1}},
              "right": {"peak_fppa_deg": {"value": 4.0, "n": 1}}},
    "bilateral": {"knee_ankle_separation_ratio": {"value": 0.9}},
}  # fmt: skip


def job(**kw) -> dict:
    base = {"patient": "P1", "date": "2026-03-01", "path": "/clips/a.mp4", "sha256": "ab" * 32,
            "settings_hash": "s1", "protocol": None, "side": None, "notes": None}  # fmt: skip
    return {**base, **kw}


def test_new_database_is_private_versioned_wal_with_foreign_keys(tmp_path):
    path = tmp_path / "sub" / "kv.sqlite"
    with Store(path) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_record_replace_and_query(tmp_path):
    with Store(tmp_path / "kv.sqlite") as s:
        assert not s.done(job())
        s.record_trial(job(), {"status": "failed", "error": "boom"})
        assert not s.done(job())  # a failure is retried
        t = s.record_trial(job(), {"status": "done", "out_dir": "/o", "summary": SUMMARY})
        assert s.done(job()) and not s.done(job(settings_hash="s2"))
        trials = s.trials()
        assert len(trials) == 1 and trials[0]["id"] == t and trials[0]["protocol"] == "squat"
        rows = s.conn.execute("SELECT side, rep, metric, value FROM metrics").fetchall()
        assert ("left", 1, "peak_fppa_deg", 12.5) in [tuple(r) for r in rows]
        assert ("both", None, "knee_ankle_separation_ratio", 0.9) in [tuple(r) for r in rows]
        hist = s.history("P1", "peak_fppa_deg")
        assert [(r["side"], r["value"]) for r in hist] == [("left", 12.5), ("right", 4.0)]
        assert [r["id"] for r in s.patients()] == ["P1"]
        assert "valgus_warning" not in s.metrics_of("P1")  # booleans are not metrics
        export = list(s.export_rows())
        assert export[0][0] == "patient_id" and len(export) == 1 + len(rows)


def test_transaction_rolls_back(tmp_path):
    with Store(tmp_path / "kv.sqlite") as s:
        with pytest.raises(sqlite3.IntegrityError):
            s.record_trial(job(), {"status": "half-done"})  # violates the status CHECK
        assert s.trials() == [] and s.patients() == []


def test_migrates_an_old_file_and_refuses_a_newer_one(tmp_path):
    old = tmp_path / "old.sqlite"
    sqlite3.connect(old).close()  # version 0, empty
    with Store(old) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    newer = tmp_path / "newer.sqlite"
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(KneeVisionError, match="newer than this KneeVision"):
        Store(newer)
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database" * 100)
    with pytest.raises(KneeVisionError, match="not a usable KneeVision database"):
        Store(junk)


def test_metric_rows_skip_times_and_flags():
    rows = metric_rows(SUMMARY)
    assert {r[2] for r in rows} == {"peak_fppa_deg", "knee_ankle_separation_ratio"}

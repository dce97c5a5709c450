"""The web app's one door into the rest of KneeVision.

Everything the web package needs from the analysis, the batch runner, the store and
the report goes through here, so that a signature changed elsewhere is fixed in this
file only: analyse one clip (in the worker process), record its outcome in the
store, read a trial's summary, list patients and trials, and the settings' fields.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kneevision.errors import KneeVisionError

if TYPE_CHECKING:
    from kneevision.summary import Summary

DB_NAME = "kneevision.db"
#: Export format → the file it writes (``kneevision.export.EXPORT_FORMATS``, not
#: imported here so that the pages load without NumPy; a test keeps them equal).
EXPORT_FILES = {
    "trc": "landmarks.trc",
    "mot": "angles.mot",
    "c3d": "landmarks.c3d",
    "nc": "landmarks.nc",
}
#: Files of an analysis folder the app serves (by name; never a path from the URL).
SERVED_FILES = {
    "overlay.mp4": "video/mp4",
    "report.pdf": "application/pdf",
    "report.html": "text/html",
    "summary.json": "application/json",
    "angles.csv": "text/csv",
    "reps.csv": "text/csv",
    "landmarks.trc": "text/plain",
    "angles.mot": "text/plain",
    "landmarks.c3d": "application/octet-stream",
    "landmarks.nc": "application/x-netcdf",
}
#: Settings the settings page offers (the rest keep their defaults).
PAGE_SETTINGS = ("model", "blur_faces", "fast", "protocol", "max_people", "cutoff_hz",
                 "valgus_warn_deg", "overlay_max_side", "export")  # fmt: skip
#: Web defaults that differ from the command line's: faces blurred in what is kept.
WEB_DEFAULTS: dict[str, Any] = {"blur_faces": True, "reserve_core": False}


# --- settings --------------------------------------------------------------------------


def settings_fields() -> list[dict]:
    """The page's settings, from the :class:`~kneevision.settings.Settings` fields.

    Returns
    -------
    list of dict
        ``{name, help, kind, choices, default, unit}`` per setting of
        :data:`PAGE_SETTINGS`, web defaults applied. ``kind`` is ``bool``, ``choice``
        (one of ``choices``), ``multi`` (any of ``choices``, e.g. ``export``),
        ``number`` or ``text``.
    """
    from kneevision.settings import Settings

    out = []
    for f in dataclasses.fields(Settings):
        if f.name not in PAGE_SETTINGS:
            continue
        default = WEB_DEFAULTS.get(f.name, f.default)
        choices = f.metadata.get("choices")
        if f.name == "model":
            choices = ("lite", "full", "heavy")
        if isinstance(default, bool):
            kind = "bool"
        elif isinstance(default, (tuple, list)):  # a set of names: any of the choices
            kind, default = ("multi" if choices else "text"), list(default)
        elif choices:
            kind = "choice"
        else:
            kind = "number" if isinstance(default, (int, float)) else "text"
        out.append({"name": f.name, "help": f.metadata.get("help", ""), "kind": kind,
                    "choices": choices, "default": default,
                    "unit": f.metadata.get("unit") or ""})  # fmt: skip
    return out


def check_settings(values: dict) -> dict:
    """Validated analysis settings as a plain dict (``KneeVisionError`` if one is bad)."""
    from kneevision.settings import Settings

    return Settings.from_dict({**WEB_DEFAULTS, **values}).to_dict()


def check_exports(values: dict) -> None:
    """Refuse ``export`` formats this installation cannot write (before saving them).

    Raises
    ------
    KneeVisionError
        A bad setting, or a format whose package is missing (``nc`` needs xarray).
    """
    from kneevision.settings import Settings

    settings = Settings.from_dict({**WEB_DEFAULTS, **values})
    if settings.export:  # the analysis checks the same before any inference
        from kneevision.api import check_exports as check

        check(settings)


def protocol_choices() -> tuple[str, ...]:
    """The protocols a trial can be given (``auto`` first)."""
    from kneevision.protocols import CHOICES

    return tuple(CHOICES)


# --- the worker side -------------------------------------------------------------------


def analyse(job: dict, settings: dict, out_root: str | Path,
            progress: Callable[[int, int], None] | None = None) -> dict:  # fmt: skip
    """Analyse one clip into ``out_root/PATIENT/DATE/``: ``{status, error, out_dir, summary}``.

    What a batch worker does, with frame progress: ``progress(frames_done, total)``.
    A clip that cannot be analysed gives ``status: failed`` and its one-line reason.
    """
    from kneevision.api import analyze_clip
    from kneevision.batch import _model, _safe, private_files
    from kneevision.settings import Settings

    try:
        s = Settings.from_dict({**WEB_DEFAULTS, **settings})
        s = dataclasses.replace(s, protocol=job.get("protocol") or s.protocol,
                                side=job.get("side") or s.side)  # fmt: skip
        out = Path(out_root) / _safe(job["patient"]) / job["date"]
        factory = None
        if progress is not None:

            def factory(total: int, _label: str) -> Callable[[int], None]:
                done = [0]

                def update(n: int) -> None:
                    done[0] += n
                    progress(done[0], total)

                return update

        with private_files():
            a = analyze_clip(job["path"], _model(s.model), s, out_root=out,
                             progress_factory=factory)  # fmt: skip
        return {"status": "done", "out_dir": str(a.folder), "summary": a.summary.to_json()}
    except KneeVisionError as exc:
        return {"status": "failed", "error": one_line(str(exc))}
    except Exception as exc:  # a bug must not stop the queue; its reason is kept
        why = f"unexpected error: {type(exc).__name__}: {exc}"
        return {"status": "failed", "error": one_line(why)}


def one_line(text: str) -> str:
    """The first line of a message, without the server's folders in it."""
    line = (text.strip().splitlines() or [""])[0]
    return line[:300]


def quiet_native_logs() -> None:
    """Send MediaPipe's native log lines away from the worker's stdout/stderr."""
    try:
        from kneevision._native import divert_native_stderr

        divert_native_stderr()
    except Exception:  # only cosmetic
        pass


def model_sha256(spec: str) -> str:
    """The verified model file's sha256 (no download)."""
    from kneevision.pose.model import resolve_model

    return resolve_model(spec, allow_download=False).sha256


def settings_hash(settings: dict, job: dict, model_sha: str) -> str:
    """The batch runner's key for reusing a result (settings, protocol, side, model)."""
    from kneevision.batch import Job
    from kneevision.batch import settings_hash as batch_hash

    j = Job(patient=job["patient"], date=job["date"], path=job["path"],
            protocol=job.get("protocol"), side=job.get("side"))  # fmt: skip
    return batch_hash({**WEB_DEFAULTS, **settings}, j, model_sha)


def make_private(folder: str | Path) -> None:
    """Folders 0700, files 0600 under ``folder``."""
    from kneevision.batch import make_private as private

    private(Path(folder))


def clean_stale(out_root: str | Path) -> int:
    """Remove temporary folders a killed analysis left behind."""
    from kneevision.batch import clean_stale as clean

    return clean(Path(out_root))


def file_sha256(path: str | Path) -> str:
    """The clip's content hash, as the store keeps it."""
    from kneevision.video.source import source_sha256

    return source_sha256(path)


# --- the store -------------------------------------------------------------------------


def open_store(data: str | Path):
    """The store (``kneevision.db`` in the data folder), created when missing."""
    from kneevision.store import Store

    return Store(Path(data) / DB_NAME)


def record(store, job: dict, outcome: dict) -> int:
    """Store a finished clip (done or failed): the store trial's id."""
    return store.record_trial(job, outcome)


def add_patient(store, patient_id: str) -> bool:
    """Create a patient in the store's table; False when it exists."""
    import datetime as dt

    cur = store.conn.execute(
        "INSERT OR IGNORE INTO patients (id, created) VALUES (?, ?)",
        (patient_id, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
    )
    return cur.rowcount == 1


def delete_patient(store, patient_id: str) -> list[dict]:
    """Delete a patient with their sessions, trials and metrics; the trials that were."""
    rows = [dict(r) for r in patient_trials(store, patient_id)]
    with store.transaction() as conn:
        conn.execute("DELETE FROM patients WHERE id = ?", (patient_id,))
    return rows


def patients(store) -> list[dict]:
    """Every patient with counts of sessions and trials and the last session's date."""
    return [dict(r) for r in store.patients()]


def patient_trials(store, patient_id: str) -> list[dict]:
    """A patient's stored trials, by session date."""
    rows = store.conn.execute(
        "SELECT s.patient_id, s.date, t.* FROM trials t JOIN sessions s ON s.id = t.session_id "
        "WHERE s.patient_id = ? ORDER BY s.date, t.id",
        (patient_id,),
    ).fetchall()
    return [dict(r) for r in rows]


def store_trial(store, trial_id: int) -> dict | None:
    """One stored trial with its patient and date."""
    row = store.conn.execute(
        "SELECT s.patient_id, s.date, t.* FROM trials t JOIN sessions s ON s.id = t.session_id "
        "WHERE t.id = ?",
        (trial_id,),
    ).fetchone()
    return dict(row) if row else None


def history(store, patient_id: str) -> dict[str, list[dict]]:
    """Each aggregate metric's value per session date and side."""
    out = {}
    for metric in store.metrics_of(patient_id):
        out[metric] = [dict(r) for r in store.history(patient_id, metric)]
    return out


# --- an analysis folder ----------------------------------------------------------------


def read_summary(out_dir: str | Path) -> Summary | None:
    """A trial's ``summary.json`` through the typed contract.

    Returns
    -------
    Summary or None
        None when the folder or file is gone or cannot be read (broken JSON, a newer
        schema).
    """
    from kneevision.summary import Summary

    try:
        return Summary.from_json(Path(out_dir) / "summary.json")
    except (OSError, ValueError, TypeError, KneeVisionError):
        return None


def read_angles(out_dir: str | Path) -> dict[str, list[float]]:
    """``angles.csv`` columns as lists (``time_s`` and each angle; NaN as None)."""
    import csv

    path = Path(out_dir) / "angles.csv"
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError:
        return {}
    if not rows:
        return {}
    cols: dict[str, list] = {name: [] for name in rows[0]}
    for r in rows[1:]:
        for name, cell in zip(rows[0], r, strict=False):
            try:
                v = float(cell)
                cols[name].append(v if math.isfinite(v) else None)
            except ValueError:
                cols[name].append(None)
    return cols


def key_rows(summary: Summary) -> list[dict]:
    """The report's key-numbers rows: metric, left, right, reference, verdict."""
    from kneevision.report.document import key_rows as rows

    return rows(summary)


def flags(summary: Summary) -> list[tuple[str, str]]:
    """Quality flags as (what happened, what to do)."""
    from kneevision.report.document import plain_flags

    return plain_flags(summary)


def fmt(metric: str, value: object) -> str:
    """A number with its unit, as the report writes it."""
    from kneevision.report.document import fmt as f

    return f(metric, value)


def label(metric: str) -> str:
    """A metric's axis label (``Peak knee flexion (°)``)."""
    try:
        from kneevision.report.plots import axis_label

        return axis_label(metric)
    except Exception:
        return metric.replace("_", " ")


def video_suffixes() -> tuple[str, ...]:
    """Extensions of the clips the analysis reads."""
    from kneevision.batch import VIDEO_SUFFIXES

    return tuple(VIDEO_SUFFIXES)


def warm_up() -> None:
    """Import what the pages use (the report's tables and labels) ahead of the first page."""
    try:
        import kneevision.report.document
        import kneevision.report.plots  # noqa: F401
        from kneevision.settings import Settings  # noqa: F401
    except Exception:  # the page will say what is wrong
        pass

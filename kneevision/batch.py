"""Batch runs for clinics: many clips, by patient and session, resumable, in parallel.

Input is a folder following ``PATIENT/YYYY-MM-DD/clip.mp4`` (any depth below the
date is fine; a clip directly under a patient folder takes its file date) or a
CSV manifest with columns ``patient_id, session_date, path, protocol, side,
notes`` (``path`` relative to the manifest's folder; the last three optional).

Every clip is hashed (sha256) by the coordinating process; a clip already done
with the same content and settings for the same patient and date is skipped,
so a batch can be run again after it was stopped, or killed, and finishes the
rest. Clips run in worker processes (spawned, each verifying the model once)
or, with ``scheduler``, on a Dask cluster. Only the coordinator writes the
database, one transaction per clip, after the clip's output folder is complete.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import re
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kneevision import __version__
from kneevision.errors import KneeVisionError
from kneevision.protocols import CHOICES
from kneevision.settings import Settings
from kneevision.store import Store
from kneevision.video.source import source_sha256

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MANIFEST_COLUMNS = ("patient_id", "session_date", "path", "protocol", "side", "notes")


@dataclass
class Job:
    """One clip to analyse, or a manifest row that cannot be (``error`` set)."""

    patient: str
    date: str
    path: str
    protocol: str | None = None
    side: str | None = None
    notes: str | None = None
    sha256: str | None = None
    settings_hash: str = ""
    error: str | None = None

    def to_dict(self) -> dict:
        """Plain-dict form (what the workers and the database get)."""
        return asdict(self)


@dataclass
class BatchResult:
    """Counts of a batch run; ``failures`` maps a clip to its reason."""

    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def jobs_from_folder(root: str | Path) -> list[Job]:
    """Clips under ``root`` following ``PATIENT/YYYY-MM-DD/…/clip``."""
    root = Path(root)
    jobs = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix.lower() not in VIDEO_SUFFIXES or path.name.startswith("."):
            continue
        if any(part.endswith("_kneevision") for part in path.parts):
            continue  # an overlay video from an earlier run
        parts = path.relative_to(root).parts
        patient = parts[0] if len(parts) > 1 else "unknown"
        if len(parts) > 2 and DATE.match(parts[1]):
            date = parts[1]
        else:
            date = dt.date.fromtimestamp(path.stat().st_mtime).isoformat()
        jobs.append(Job(patient=patient, date=date, path=str(path.resolve())))
    return jobs


def jobs_from_manifest(manifest: str | Path) -> list[Job]:
    """Rows of a CSV manifest; a row that cannot run keeps its reason in ``error``."""
    manifest = Path(manifest)
    with open(manifest, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"patient_id", "session_date", "path"} - set(reader.fieldnames or [])
        if missing:
            raise KneeVisionError(
                f"manifest lacks column(s) {', '.join(sorted(missing))}", manifest
            )
        rows = list(reader)
    jobs = []
    for n, row in enumerate(rows, start=2):  # line numbers as a spreadsheet shows them
        get = {k: (row.get(k) or "").strip() or None for k in MANIFEST_COLUMNS}
        path = Path(get["path"] or "")
        if not path.is_absolute():
            path = manifest.parent / path
        job = Job(
            patient=get["patient_id"] or "unknown",
            date=get["session_date"] or "unknown",
            path=str(path.resolve()),
            protocol=get["protocol"],
            side=get["side"],
            notes=get["notes"],
        )
        if not get["path"]:
            job.error = f"line {n}: no path"
        elif not path.exists():
            job.error = f"line {n}: file not found"
        elif job.protocol is not None and job.protocol not in CHOICES:
            job.error = (
                f"line {n}: unknown protocol {job.protocol!r} (choose from {', '.join(CHOICES)})"
            )
        elif job.side is not None and job.side not in ("left", "right"):
            job.error = f"line {n}: side must be left or right, not {job.side!r}"
        elif not DATE.match(job.date):
            job.error = f"line {n}: session_date must be YYYY-MM-DD, not {job.date!r}"
        jobs.append(job)
    return jobs


def collect(source: str | Path) -> list[Job]:
    """Jobs from a folder or a ``.csv`` manifest."""
    source = Path(source)
    if not source.exists():
        raise KneeVisionError("not found", source)
    if source.is_dir():
        return jobs_from_folder(source)
    if source.suffix.lower() == ".csv":
        return jobs_from_manifest(source)
    raise KneeVisionError("batch input must be a folder or a .csv manifest", source)


def settings_hash(settings: Settings | dict, job: Job, model_sha256: str) -> str:
    """What decides whether a result can be reused: settings, protocol, side, model, version.

    Only the settings marked ``changes_results`` count (not how threads are scheduled,
    nor extra export formats): :meth:`~kneevision.settings.Settings.result_key`.
    """
    if not isinstance(settings, Settings):
        settings = Settings.from_dict(settings)
    key = settings.result_key()
    key |= {"protocol": job.protocol or settings.protocol, "side": job.side}
    key |= {"model_sha256": model_sha256, "kneevision": __version__}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


# --- worker side ------------------------------------------------------------------------

_MODELS: dict[str, object] = {}


def _model(spec: str):
    """The verified model file, resolved once per worker process."""
    from kneevision.pose.model import resolve_model

    if spec not in _MODELS:
        _MODELS[spec] = resolve_model(spec, allow_download=False)
    return _MODELS[spec]


def _init_worker(model_spec: str) -> None:
    from kneevision._native import divert_native_stderr

    divert_native_stderr()
    _model(model_spec)


def run_job(job: dict, settings: dict, out_root: str) -> dict:
    """Analyse one clip (in a worker): ``{status, error, out_dir, summary}``.

    A landmarker is created per clip: VIDEO mode keeps tracking state and needs
    increasing timestamps, which belong to one clip.
    """
    from kneevision.api import analyze_clip

    try:
        s = Settings.from_dict(settings)
        s = dataclasses.replace(
            s, protocol=job["protocol"] or s.protocol, side=job["side"] or s.side
        )
        out = Path(out_root) / _safe(job["patient"]) / job["date"]
        with private_files():
            a = analyze_clip(job["path"], _model(s.model), s, out_root=out)
        return {"status": "done", "out_dir": str(a.folder), "summary": a.summary.to_json()}
    except KneeVisionError as exc:
        return {"status": "failed", "error": str(exc)}
    except Exception as exc:  # a bug must not stop the batch; its reason is kept
        return {"status": "failed", "error": f"unexpected error: {type(exc).__name__}: {exc}"}


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "unknown"


def _outcomes(
    pending: list[Job], settings: dict, out_root: Path, workers: int, scheduler: str | None
) -> Iterator[tuple[Job, dict]]:
    """Run the jobs (here, in worker processes or on Dask) and yield each outcome as it ends."""
    if workers <= 1 and not scheduler:
        for job in pending:
            yield job, run_job(job.to_dict(), settings, str(out_root))
        return
    # Workers share the cores: pin none, and each runs its two landmarkers (the
    # flip-averaged estimate) one after the other, so that N workers keep N cores busy
    # rather than 2N threads fighting over them.
    settings = {**settings, "reserve_core": False, "parallel_mirror": False}
    client = None
    if scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise KneeVisionError(
                "Dask is not installed: pip install 'kneevision[cluster]'", scheduler
            ) from None
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise KneeVisionError(f"cannot reach the Dask scheduler ({exc})", scheduler) from None
        executor: Executor = client.get_executor(pure=False)
    else:
        ctx = multiprocessing.get_context("spawn")
        executor = ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(settings["model"],)
        )
    try:
        futures = {
            executor.submit(run_job, job.to_dict(), settings, str(out_root)): job for job in pending
        }
        for fut in as_completed(futures):
            try:
                outcome = fut.result()
            except Exception as exc:  # a worker died (killed, out of memory)
                outcome = {"status": "failed", "error": f"worker failed: {exc}"}
            yield futures[fut], outcome
    finally:
        if client is None:
            executor.shutdown(wait=True, cancel_futures=True)
        else:  # Dask's executor knows no cancel_futures
            executor.shutdown(wait=True)
            client.close()


def clean_stale(out_root: Path) -> int:
    """Remove temporary folders a killed run left behind (``.<name>.*.tmp``)."""
    n = 0
    if out_root.is_dir():
        for tmp in out_root.rglob(".*.tmp"):
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
                n += 1
    return n


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Create files owner-only (umask 077) for the block: the outputs hold patient video.

    The umask is per process; batch workers run one clip at a time, so nothing
    else of theirs is affected.
    """
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def make_private(root: Path) -> None:
    """Folders 0700 and files 0600 under ``root`` (what an analysis wrote with wider modes)."""
    if not root.is_dir():
        return
    root.chmod(0o700)
    for path in root.rglob("*"):
        if path.is_symlink():
            continue
        path.chmod(0o700 if path.is_dir() else 0o600)


def run_batch(
    source: str | Path,
    db_path: str | Path,
    settings: Settings | dict,
    *,
    out_root: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[BatchResult, int], None] | None = None,
) -> BatchResult:
    """Analyse every clip of a folder or manifest into the database.

    Parameters
    ----------
    source : path
        Folder or CSV manifest.
    db_path : path
        SQLite file (created when missing).
    settings : Settings or dict
        The settings (a dict of :class:`~kneevision.settings.Settings` fields is
        validated first: an invalid one is refused before any clip runs).
    out_root : path, optional
        Where ``PATIENT/DATE/<clip>_kneevision/`` go (default: beside the database,
        in ``kneevision-batch/``).
    workers : int
        Local worker processes.
    scheduler : str, optional
        A Dask scheduler address (``tcp://host:8786``) instead of local processes.
    progress : callable, optional
        ``progress(result, still_to_do)`` after each clip.
    """
    from kneevision.pose.model import resolve_model

    if not isinstance(settings, Settings):
        settings = Settings.from_dict(settings)
    from kneevision.api import check_exports

    check_exports(settings)
    jobs = collect(source)
    out_root = Path(out_root) if out_root else Path(db_path).resolve().parent / "kneevision-batch"
    clean_stale(out_root)
    make_private(out_root)  # outputs of versions that left them world-readable, too
    model = resolve_model(settings.model, allow_download=False)
    result = BatchResult(total=len(jobs))
    with Store(db_path) as store:
        pending: list[Job] = []
        for job in jobs:
            job.settings_hash = settings_hash(settings, job, model.sha256)
            if job.error is None:
                try:
                    job.sha256 = source_sha256(job.path)
                except (KneeVisionError, OSError) as exc:
                    job.error = str(exc)
            if job.error is not None:
                store.record_trial(job.to_dict(), {"status": "failed", "error": job.error})
                result.failed += 1
                result.failures[job.path] = job.error
            elif store.done(job.to_dict()):
                result.skipped += 1
            else:
                pending.append(job)
        if progress:
            progress(result, len(pending))
        if not pending:
            return result
        left = len(pending)
        plain = settings.to_dict()
        for job, outcome in _outcomes(pending, plain, out_root, workers, scheduler):
            if outcome.get("out_dir"):
                # atomic_dir/atomic_file set 0755/0644 on rename; a clinic's folder is private.
                make_private(Path(outcome["out_dir"]))
            store.record_trial(job.to_dict(), outcome)
            if outcome["status"] == "done":
                result.done += 1
            else:
                result.failed += 1
                result.failures[job.path] = outcome.get("error", "")
            left -= 1
            if progress:
                progress(result, left)
    return result


__all__ = [
    "BatchResult",
    "Job",
    "collect",
    "jobs_from_folder",
    "jobs_from_manifest",
    "run_batch",
]

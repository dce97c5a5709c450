"""Writing one analysis folder: tidy CSVs, summary.json, atomically.

Everything is written into a hidden temporary folder beside the destination and
renamed into place at the end, so a failed or interrupted run never leaves a
half-written result (and never destroys a previous one until the new one is
complete).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import math
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from kneevision.errors import Interrupted, OutputError
from kneevision.pose.sequence import LANDMARK_NAMES, PoseSequence

SUMMARY_SCHEMA_VERSION = 2


def output_dir_for(video: str | Path, out_root: str | Path | None) -> Path:
    """``<out_root>/<stem>_kneevision`` (``out_root`` defaults to the video's folder)."""
    video = Path(video)
    root = Path(out_root) if out_root is not None else video.parent
    return root / f"{video.stem}_kneevision"


#: Write errors that are the output location's fault (full, too large, read-only,
#: quota, I/O): reported as one :class:`OutputError` line, not a traceback.
OUTPUT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM}
)


def _output_error(exc: OSError, where: Path) -> OutputError:
    return OutputError(f"cannot write output ({exc.strerror or exc}); nothing was kept", where)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Interrupted` (as Ctrl-C does).

    Python's default for SIGTERM ends the process on the spot, without running
    ``finally`` blocks, which would leave the temporary folder behind. Only the
    main thread can set handlers; elsewhere (batch workers) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Interrupted(f"stopped by signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``final`` only if the block succeeds.

    A write that fails for lack of space, a file-size limit or a read-only disk
    inside the block becomes one :class:`OutputError`; SIGTERM and Ctrl-C during
    the block raise :class:`Interrupted` / ``KeyboardInterrupt``. Either way the
    temporary folder is removed and a previous ``final`` is left as it was.
    """
    parent = final.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write output folder ({exc.strerror or exc})", parent) from None
    try:
        with terminate_as_interrupt():
            try:
                yield tmp
            except OSError as exc:
                if exc.errno in OUTPUT_ERRNOS:
                    raise _output_error(exc, final) from None
                raise
            try:
                os.chmod(tmp, 0o755)
                if final.exists():
                    old = final.with_name(f".{final.name}.old")
                    shutil.rmtree(old, ignore_errors=True)
                    os.replace(final, old)
                    os.replace(tmp, final)
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    os.replace(tmp, final)
            except OSError as exc:
                raise _output_error(exc, final) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final`` that replaces it only if the block succeeds."""
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror or exc})", final) from None
    tmp = Path(name)
    try:
        with terminate_as_interrupt():
            yield tmp
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror or exc})", final) from None
    finally:
        tmp.unlink(missing_ok=True)


def _fmt(v: float, digits: int = 3) -> str:
    return "" if not math.isfinite(v) else f"{v:.{digits}f}"


def write_landmarks_csv(path: Path, seq: PoseSequence) -> None:
    """Tidy landmarks: one row per frame and landmark."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "frame",
                "time_s",
                "landmark",
                "x_px",
                "y_px",
                "visibility",
                "presence",
                "X_m",
                "Y_m",
                "Z_m",
            ]
        )
        for i in range(len(seq)):
            if not np.isfinite(seq.image[i, :, 0]).any():
                continue  # no pose in this frame: absent rows, not empty ones
            t = _fmt(seq.time_s[i], 4)
            block = np.column_stack(
                [seq.image[i], seq.visibility[i], seq.presence[i], seq.world[i]]
            ).tolist()
            if np.isfinite(block).all():  # the usual case: one f-string a row is 3× faster
                fh.writelines(
                    f"{i},{t},{name},{x:.2f},{y:.2f},{v:.3f},{p:.3f},{X:.4f},{Y:.4f},{Z:.4f}\r\n"
                    for name, (x, y, v, p, X, Y, Z) in zip(LANDMARK_NAMES, block, strict=True)
                )
                continue
            for name, (x, y, v, p, X, Y, Z) in zip(LANDMARK_NAMES, block, strict=True):
                w.writerow(
                    [i, t, name, _fmt(x, 2), _fmt(y, 2), _fmt(v), _fmt(p)]
                    + [_fmt(X, 4), _fmt(Y, 4), _fmt(Z, 4)]
                )


def write_table_csv(path: Path, columns: Mapping[str, np.ndarray | list]) -> None:
    """Write equal-length columns as CSV; NaN/None become empty cells."""
    names = list(columns)
    cols = [list(columns[n]) for n in names]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        for row in zip(*cols, strict=True):
            w.writerow([_cell(v) for v in row])


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return _fmt(float(v), 4)
    return str(v)


def to_jsonable(obj: object) -> object:
    """Convert NumPy scalars/arrays and NaN to JSON-friendly values (NaN → null)."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return round(f, 6) if math.isfinite(f) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: Path, data: Mapping) -> None:
    """Write JSON (indented, NaN as null)."""
    with open(path, "w") as fh:
        json.dump(to_jsonable(data), fh, indent=2)
        fh.write("\n")

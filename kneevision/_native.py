"""Keep native libraries' own log lines (FFmpeg, LiteRT, glog) off the user's terminal."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what C/C++ code writes straight to file descriptor 2.

    Python exceptions are unaffected (they are raised, not printed, inside the
    block). Set ``KNEEVISION_DEBUG=1`` (``--debug``) to see everything.
    """
    if os.environ.get("KNEEVISION_DEBUG"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def divert_native_stderr() -> None:
    """For the rest of the process, send what C/C++ code writes to fd 2 to /dev/null.

    MediaPipe logs from its own threads, sometimes after a call has returned, so
    silencing single calls is not enough for a command-line run. Python's
    ``sys.stderr`` is moved to a duplicate of the real stream first, so our own
    messages and progress bars still reach the terminal. Only for the command
    line (it changes process-wide state); ``KNEEVISION_DEBUG=1`` keeps everything.
    """
    if os.environ.get("KNEEVISION_DEBUG"):
        return
    sys.stderr.flush()
    real = os.dup(2)
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    sys.stderr = os.fdopen(real, "w", buffering=1, encoding=encoding, errors="backslashreplace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)

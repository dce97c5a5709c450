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

"""The analysis worker: ``python -m kneevision.web.worker`` (started by the job runner).

Reads ``{"job", "settings", "out_root"}`` as JSON on stdin, analyses the clip and
writes JSON lines on stdout: ``{"frames", "total"}`` as it goes, then
``{"outcome": {...}}``. It never writes the database (the server does), and it dies
with the server: on Linux the kernel sends it SIGKILL when its parent goes
(``PR_SET_PDEATHSIG``), and it also checks its parent at each progress step.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time


def _die_with_parent(parent: int) -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent went before prctl took effect
        os._exit(1)


def main() -> int:
    request = json.loads(sys.stdin.readline())
    parent = int(request.get("parent", os.getppid()))
    _die_with_parent(parent)
    os.umask(0o077)  # the analysis folder holds patient video
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # library prints stay off the channel

    from kneevision.web import engine

    engine.quiet_native_logs()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if os.getppid() != parent:
            os._exit(1)
        t = time.monotonic()
        if t - last[0] >= 0.25 or done == total:
            last[0] = t
            out.write(json.dumps({"frames": done, "total": total}) + "\n")

    outcome = engine.analyse(request["job"], request["settings"], request["out_root"], progress)
    out.write(json.dumps({"outcome": outcome}) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

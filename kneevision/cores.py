"""Keep a core for pose inference: the helper threads run on the others.

Decoding, drawing and encoding the overlay are light next to inference (on the
project's 2-core machine about 11 ms of CPU a frame against 16 ms of inference),
yet left to the scheduler they land on inference's core often enough to slow it
by a fifth to a quarter (``benchmarks/throughput.py``: 0.74–0.79 × inference alone
unpinned, 0.89–0.98 × pinned). Pinning inference to its own cores and the helpers
to the rest removes most of that. Linux only (``os.sched_setaffinity``);
elsewhere, or with a single core, nothing changes.

With two inference streams (the flip-averaged estimate: the frame and its mirror
image, each with its own landmarker) the inference CPUs are split in two, one
part per stream, so that the two run side by side. On two CPUs that leaves none
for the helpers: they then share both (the scheduler puts them where there is
room) instead of all landing on one stream's core.

Do not use it when several analyses share the machine (batch workers): each
would pin its inference to the same cores.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class CoreSplit:
    """Which CPUs run inference and which run the helper threads.

    ``mirror`` is the second inference stream's share (the mirrored landmarker of
    the flip-averaged estimate), None with one stream.
    """

    inference: frozenset[int]
    helpers: frozenset[int]
    mirror: frozenset[int] | None = None


def split_cores(available: set[int] | frozenset[int], streams: int = 1) -> CoreSplit | None:
    """Split the CPUs this process may use between inference and the helper threads.

    Parameters
    ----------
    available : set of int
        The CPUs this process may run on.
    streams : int
        Inference streams to keep apart: 1, or 2 for the flip-averaged estimate.

    Returns
    -------
    CoreSplit or None
        One stream: a quarter of the CPUs (at least one) for the helpers, the rest
        for inference. Two streams: the same quarter for the helpers, and the
        rest halved between the streams (the direct one gets the odd CPU); with
        fewer than three CPUs each stream gets one and the helpers share all of
        them. None with fewer than two CPUs: there is nothing to split.

    Examples
    --------
    >>> split_cores({0, 1})
    CoreSplit(inference=frozenset({0}), helpers=frozenset({1}), mirror=None)
    >>> split_cores({0, 1}, streams=2)
    CoreSplit(inference=frozenset({0}), helpers=frozenset({0, 1}), mirror=frozenset({1}))
    >>> split_cores({3}) is None
    True
    """
    cpus = sorted(available)
    if len(cpus) < 2:
        return None
    n_helpers = max(1, len(cpus) // 4)
    if streams < 2:
        return CoreSplit(frozenset(cpus[:-n_helpers]), frozenset(cpus[-n_helpers:]))
    if len(cpus) < 3:
        # No CPU is left over for the helpers: they share both streams' cores.
        return CoreSplit(frozenset(cpus[:1]), frozenset(cpus), frozenset(cpus[1:]))
    rest = cpus[:-n_helpers]
    half = (len(rest) + 1) // 2
    return CoreSplit(frozenset(rest[:half]), frozenset(cpus[-n_helpers:]), frozenset(rest[half:]))


def _can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")


@contextlib.contextmanager
def reserve_inference_cores(enabled: bool = True, streams: int = 1) -> Iterator[CoreSplit | None]:
    """Pin the calling thread (and the threads it starts) to the inference cores.

    Create the landmarker inside the block: its worker threads inherit the
    calling thread's CPUs. Helper threads call :func:`pin_to` with the split's
    ``helpers``, and with ``streams=2`` the second stream's thread with its
    ``mirror`` (see :func:`split_cores`). On exit the calling thread, and every
    thread started in the block that is still running (MediaPipe keeps a dispatcher thread for the
    process), get their CPUs back: nothing stays pinned after the block.
    """
    split = split_cores(os.sched_getaffinity(0), streams) if enabled and _can_pin() else None
    if split is None:
        yield None
        return
    before = os.sched_getaffinity(0)
    threads_before = _threads()
    try:
        os.sched_setaffinity(0, split.inference)
    except OSError:  # a container or policy may refuse: run unpinned
        yield None
        return
    try:
        yield split
    finally:
        for tid in (_threads() - threads_before) | {0}:
            with contextlib.suppress(OSError):  # it may have ended meanwhile
                os.sched_setaffinity(tid, before)


def _threads() -> set[int]:
    """Ids of this process's threads (Linux: /proc/self/task); empty where unknown."""
    try:
        return {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:
        return set()


def pin_to(cpus: frozenset[int] | None) -> None:
    """Pin the calling thread to ``cpus`` (no-op for None or where unsupported)."""
    if cpus and _can_pin():
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, cpus)

"""A core kept for inference: the split, the pinning, and who ends up where."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from kneevision.cores import reserve_inference_cores, split_cores
from kneevision.video import VideoWriter, prefetch
from kneevision.video.writer import Background

AVAILABLE = os.sched_getaffinity(0)
needs_two = pytest.mark.skipif(len(AVAILABLE) < 2, reason="a split needs two CPUs")


@pytest.mark.parametrize(
    ("cpus", "inference", "helpers"),
    [
        ({0, 1}, {0}, {1}),
        ({0, 1, 2, 3}, {0, 1, 2}, {3}),
        (set(range(8)), set(range(6)), {6, 7}),
        ({2, 5, 9}, {2, 5}, {9}),  # a cpuset that is not 0..n-1
    ],
)
def test_split_gives_helpers_a_quarter(cpus, inference, helpers):
    split = split_cores(cpus)
    assert split.inference == inference and split.helpers == helpers


def test_no_split_on_one_cpu():
    assert split_cores({0}) is None
    assert split_cores({0}, streams=2) is None


@pytest.mark.parametrize(
    ("cpus", "inference", "mirror", "helpers"),
    [
        ({0, 1}, {0}, {1}, {0, 1}),  # nothing left over: the helpers share both
        ({0, 1, 2}, {0}, {1}, {2}),
        ({0, 1, 2, 3}, {0, 1}, {2}, {3}),
        (set(range(8)), {0, 1, 2}, {3, 4, 5}, {6, 7}),
    ],
)
def test_two_streams_get_apart_cpus(cpus, inference, mirror, helpers):
    split = split_cores(cpus, streams=2)
    assert (split.inference, split.mirror, split.helpers) == (inference, mirror, helpers)
    assert not split.inference & split.mirror


@needs_two
def test_reserve_pins_the_caller_and_restores_it():
    before = os.sched_getaffinity(0)
    with reserve_inference_cores() as split:
        assert os.sched_getaffinity(0) == split.inference
        seen = []
        t = threading.Thread(target=lambda: seen.append(os.sched_getaffinity(0)))
        t.start()
        t.join()
        assert seen == [split.inference]  # threads started inside inherit the CPUs
        # one that outlives the block (as MediaPipe's dispatcher thread does)
        stop, ready, tid = threading.Event(), threading.Event(), []
        lingering = threading.Thread(
            target=lambda: (tid.append(threading.get_native_id()), ready.set(), stop.wait())
        )
        lingering.start()
        ready.wait()
        assert os.sched_getaffinity(tid[0]) == split.inference
    assert os.sched_getaffinity(0) == before
    assert os.sched_getaffinity(tid[0]) == before  # nothing stays pinned
    stop.set()
    lingering.join()


def test_reserve_off_changes_nothing():
    before = os.sched_getaffinity(0)
    with reserve_inference_cores(enabled=False) as split:
        assert split is None and os.sched_getaffinity(0) == before


@needs_two
def test_helpers_run_on_their_cpus(tmp_path: Path):
    helper = frozenset({max(AVAILABLE)})
    seen = []
    worker = Background(lambda _: seen.append(os.sched_getaffinity(0)), "t", cpus=helper)
    worker.put(1)
    worker.close()
    assert seen == [helper]

    decoded = list(prefetch((os.sched_getaffinity(0) for _ in range(3)), cpus=helper))
    assert decoded == [helper] * 3

    # ffmpeg is started from the encoder thread, so it takes the helper CPUs too
    def children() -> set[int]:
        tasks = Path("/proc/self/task").glob("*/children")
        return {int(pid) for task in tasks for pid in task.read_text().split()}

    before = children()  # other tests' processes may still be about
    ffmpeg: list[set[int]] = []
    with VideoWriter(tmp_path / "o.mp4", 25, (64, 48), cpus=helper) as w:
        for i in range(5):
            w.write(np.full((48, 64, 3), i * 40, np.uint8))
        deadline = time.monotonic() + 5
        while not ffmpeg and time.monotonic() < deadline:
            ffmpeg = [os.sched_getaffinity(pid) for pid in children() - before]
            time.sleep(0.05)
    assert ffmpeg and all(c == helper for c in ffmpeg)
    assert (tmp_path / "o.mp4").stat().st_size > 0


@pytest.mark.slow  # pose inference and an overlay on a synthetic clip
@needs_two
@pytest.mark.parametrize("reserve", [True, False])
@pytest.mark.parametrize("fast", [True, False])
def test_run_pose_puts_helpers_on_their_own_cpus(tmp_path: Path, monkeypatch, reserve, fast):
    """One stream: inference on its CPUs, helpers on the rest. Two (the default flip
    average): the direct and the mirrored landmarker each on its own CPUs."""
    import kneevision.video.source as source
    import kneevision.video.writer as writer
    from kneevision.pipeline import run_pose
    from kneevision.pose import PoseEstimator, resolve_model
    from kneevision.pose.landmarker import MirrorStream
    from kneevision.settings import Settings
    from tests.helpers import synthetic_clip

    pinned = []
    for module in (source, writer):
        monkeypatch.setattr(module, "pin_to", pinned.append)
    seen: dict[str, list] = {"direct": [], "mirror": []}

    def spy(cls, method, name):
        detect = getattr(cls, method)

        def wrapped(self, *args):
            seen[name].append(frozenset(os.sched_getaffinity(0)))
            return detect(self, *args)

        monkeypatch.setattr(cls, method, wrapped)

    spy(PoseEstimator, "detect_rgb", "direct")
    spy(MirrorStream, "detect", "mirror")
    clip = synthetic_clip(tmp_path / "c.mp4", seconds=0.4)
    settings = Settings(model="lite", max_people=1, reserve_core=reserve, fast=fast)
    run_pose(clip, resolve_model("lite"), settings, overlay_path=tmp_path / "o.mp4")
    split = split_cores(AVAILABLE, streams=1 if fast else 2)
    assert sorted(map(str, pinned)) == [str(split.helpers if reserve else None)] * 2
    everywhere = frozenset(AVAILABLE)
    assert set(seen["direct"]) == {split.inference if reserve else everywhere}
    if fast:
        assert seen["mirror"] == []
    else:
        assert len(seen["mirror"]) == len(seen["direct"]) > 0
        assert set(seen["mirror"]) == {split.mirror if reserve else everywhere}
    assert os.sched_getaffinity(0) == AVAILABLE

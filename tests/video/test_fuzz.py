"""Hostile input through the command line: no traceback, no hang, nothing left behind.

``python -m kneevision analyze --model lite --no-report --no-overlay`` runs as a
subprocess with a timeout on

- 60 seeded corruptions of a short clip (byte flips in the header and in the
  stream, truncation at random points, zeroed ranges, duplicated chunks), of a
  clip with its index at the front and one with it at the end;
- zero-length files and streams, a 1-frame video, absurd frame sizes, garbage,
  a directory and a FIFO given as the clip, an unreadable file, names with
  spaces, quotes and non-ASCII;
- SIGINT and SIGTERM in the middle of a run, and an output disk that fills up.

Every clip either analyses (exit 0, a complete output folder) or gets exactly one
``kneevision: error: <clip>: <problem>`` line; the output folder never holds a
temporary folder or a partial file. The cheap cases share one process (the
command line goes on after a bad clip), so the file runs in about two minutes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import random
import re
import resource
import select
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

import pytest

from tests.helpers import BUNDLED, REPO
from tests.video.phone_files import ffmpeg

pytestmark = pytest.mark.slow

SEED = 17
#: Corrupted variants per kind (6 kinds × 10 = 60).
PER_KIND = 10
#: A whole batch of clips must finish within this (a hang fails the test).
BATCH_TIMEOUT_S = 240
FLAGS = ["--model", "lite", "--no-report", "--no-overlay"]


def kneevision(*args: str, **kw) -> subprocess.CompletedProcess:
    """``python -m kneevision analyze ...`` (quiet), with a timeout."""
    cmd = [sys.executable, "-m", "kneevision", "analyze", *FLAGS, "-q", *args]
    return subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=BATCH_TIMEOUT_S, **kw
    )


def leftovers(out: Path) -> list[Path]:
    """Temporary folders, partial files and incomplete output folders under ``out``."""
    bad = [p for p in out.rglob("*") if p.name.startswith(".") or p.suffix in (".tmp", ".part")]
    bad += [d for d in out.iterdir() if d.is_dir() and not (d / "summary.json").is_file()]
    return bad


# -- the inputs ------------------------------------------------------------------------------


def base_clips(root: Path) -> dict[str, Path]:
    """1 s of the bundled clip at 320×180, 10 fps: index at the front, and at the end."""
    out = {}
    for name, flags in (("front", ["-movflags", "+faststart"]), ("end", [])):
        out[name] = root / f"base_{name}.mp4"
        ffmpeg("-ss", "0.6", "-i", str(BUNDLED), "-t", "1.0", "-an", "-vf", "scale=320:180,fps=10",
               "-c:v", "libx264", "-preset", "ultrafast", "-g", "3", "-pix_fmt", "yuv420p",
               *flags, str(out[name]))  # fmt: skip
    return out


def corruptions(bases: dict[str, Path], root: Path) -> list[Path]:
    """``6 × PER_KIND`` seeded corruptions of the base clips."""
    rng = random.Random(SEED)
    data = {k: p.read_bytes() for k, p in bases.items()}
    made = []

    def save(kind: str, i: int, blob: bytes) -> None:
        path = root / f"{kind}_{i:02d}.mp4"
        path.write_bytes(blob)
        made.append(path)

    for i in range(PER_KIND):
        which = ("front", "end")[i % 2]
        raw = bytearray(data[which])
        # The index (moov) is the first ~2 KB of the faststart clip, the last of the other.
        head = range(0, 2048) if which == "front" else range(len(raw) - 2048, len(raw))
        blob = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            blob[rng.choice(head)] ^= 1 << rng.randrange(8)
        save("header_flip", i, bytes(blob))

        blob = bytearray(raw)
        for _ in range(rng.randint(5, 60)):
            blob[rng.randrange(2048, len(raw) - 2048)] = rng.randrange(256)
        save("stream_flip", i, bytes(blob))

        save("truncated", i, bytes(raw[: rng.randrange(1, len(raw))]))

        blob = bytearray(raw)
        start = rng.randrange(len(raw))
        length = rng.randint(16, 8000)
        blob[start : start + length] = bytes(len(blob[start : start + length]))
        save("zeroed", i, bytes(blob))

        a, b = sorted(rng.sample(range(len(raw)), 2))
        b = min(b, a + 20000)
        at = rng.randrange(len(raw))
        save("duplicated", i, bytes(raw[:at] + raw[a:b] + raw[at:]))

        blob = bytearray(raw)
        for _ in range(rng.randint(1, 4)):  # header and stream together, and a cut
            blob[rng.randrange(len(raw))] ^= 0xFF
        save("mixed", i, bytes(blob[: rng.randrange(len(raw) // 2, len(raw))]))
    return made


def odd_inputs(bases: dict[str, Path], root: Path) -> dict[str, Path]:
    """One of each special bad-input class (each name says what it is)."""
    src = str(BUNDLED)
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    odd: dict[str, Path] = {}

    def make(name: str, *args: str) -> None:
        odd[name] = root / name
        ffmpeg(*args, str(odd[name]))

    (root / "empty.mp4").write_bytes(b"")
    odd["empty.mp4"] = root / "empty.mp4"
    # A container with a video stream that holds no frame: the index alone.
    odd["header_only.mp4"] = root / "header_only.mp4"
    odd["header_only.mp4"].write_bytes(bases["front"].read_bytes()[:1200])
    make("audio_only.m4a", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac")
    make("one_frame.mp4", "-ss", "1.1", "-i", src, "-frames:v", "1", *x264)
    make("tiny_8x8.mp4", "-f", "lavfi", "-i", "testsrc=size=8x8:rate=10", "-t", "1", *x264)
    make("strip_2x2048.mp4", "-f", "lavfi", "-i", "color=size=2x2048:rate=5", "-t", "1", *x264)
    make("huge_8192x8192.mp4", "-f", "lavfi", "-i", "color=size=8192x8192:rate=1", "-t", "1",
         *x264)  # fmt: skip
    rng = random.Random(SEED + 1)
    odd["random_bytes.mp4"] = root / "random_bytes.mp4"
    odd["random_bytes.mp4"].write_bytes(rng.randbytes(50_000))
    odd["text.mov"] = root / "text.mov"
    odd["text.mov"].write_text("not a video\n" * 100)
    odd["a folder.mp4"] = root / "a folder.mp4"
    odd["a folder.mp4"].mkdir()
    odd["fifo.mp4"] = root / "fifo.mp4"
    os.mkfifo(odd["fifo.mp4"])
    odd["unreadable.mp4"] = root / "unreadable.mp4"
    odd["unreadable.mp4"].write_bytes(bases["front"].read_bytes())
    odd["unreadable.mp4"].chmod(0)
    odd["missing.mp4"] = root / "missing.mp4"
    for name in ('it\'s a "squat" clip.mp4', "séance genou ü 膝.mp4"):
        odd[name] = root / name
        odd[name].write_bytes(bases["end"].read_bytes())
    odd["cut 'quoted' ü.mp4"] = root / "cut 'quoted' ü.mp4"
    odd["cut 'quoted' ü.mp4"].write_bytes(b"\x00" * 4096)
    return odd


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("fuzz")
    bases = base_clips(root)
    return {
        "root": root,
        "bases": bases,
        "fuzzed": corruptions(bases, root),
        "odd": odd_inputs(bases, root),
    }


# -- one process, many clips ------------------------------------------------------------------


def outcomes(clips: list[Path], out: Path) -> tuple[subprocess.CompletedProcess, dict, float]:
    """Run all ``clips`` in one command; per clip ``"ok"`` or its error line."""
    t0 = time.monotonic()
    run = kneevision("--out", str(out), *map(str, clips))
    elapsed = time.monotonic() - t0
    errors = [line for line in run.stderr.splitlines() if line.startswith("kneevision: error: ")]
    result = {}
    for clip in clips:
        mine = [e for e in errors if e.startswith(f"kneevision: error: {clip}: ")]
        done = (out / f"{clip.stem}_kneevision" / "summary.json").is_file()
        result[clip.name] = mine if mine or not done else "ok"
    return run, result, elapsed


def check_batch(run: subprocess.CompletedProcess, result: dict, out: Path) -> None:
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    # Only our own lines: one error per bad clip, the "N of M failed" count.
    foreign = [line for line in run.stderr.splitlines() if not line.startswith("kneevision: ")]
    assert not foreign, foreign[:5]
    for name, outcome in result.items():
        assert outcome == "ok" or len(outcome) == 1, (name, outcome)
    failed = sum(outcome != "ok" for outcome in result.values())
    assert run.returncode == (1 if failed else 0), run.stderr[-2000:]
    assert not leftovers(out), leftovers(out)


def test_sixty_corrupted_clips_fail_in_one_line_or_analyse(inputs, tmp_path, record_property):
    clips = inputs["fuzzed"]
    assert len(clips) >= 50
    run, result, elapsed = outcomes(clips, tmp_path / "out")
    check_batch(run, result, tmp_path / "out")
    ok = sum(v == "ok" for v in result.values())
    summary = f"{len(clips)} corrupted clips: {ok} analysed, {len(clips) - ok} one-line errors, "
    summary += f"0 tracebacks, 0 hangs, 0 leftovers, {elapsed:.0f} s"
    record_property("fuzz", summary)
    print(summary)
    for name, outcome in sorted(result.items()):
        print(f"  {name}: {outcome if outcome == 'ok' else outcome[0]}")


#: What each special input must give: ``ok`` or a pattern of its one error line.
EXPECTED = {
    "empty.mp4": r"file is empty \(0 bytes\)",
    "header_only.mp4": r"not a readable video|no frame could be decoded",
    "audio_only.m4a": r"not a readable video|no frame could be decoded",
    "one_frame.mp4": r"ok|too short|no person",
    "tiny_8x8.mp4": r"absurd frame size 8×8",
    "strip_2x2048.mp4": r"absurd frame size 2×2048",
    "huge_8192x8192.mp4": r"absurd frame size 8192×8192",
    "random_bytes.mp4": r"not a readable video",
    "text.mov": r"not a readable video",
    "a folder.mp4": r"is a directory with no images",
    "fifo.mp4": r"is a pipe \(FIFO\), not a video file",
    "unreadable.mp4": r"permission denied",
    "missing.mp4": r"file not found",
    'it\'s a "squat" clip.mp4': r"ok",
    "séance genou ü 膝.mp4": r"ok",
    "cut 'quoted' ü.mp4": r"not a readable video",
}


def test_special_inputs_each_get_their_one_line(inputs, tmp_path, record_property):
    odd = inputs["odd"]
    assert set(odd) == set(EXPECTED)
    clips = list(odd.values())
    run, result, elapsed = outcomes(clips, tmp_path / "out")
    check_batch(run, result, tmp_path / "out")
    for name, pattern in EXPECTED.items():
        said = "ok" if result[name] == "ok" else result[name][0]
        assert re.search(pattern, said), (name, said)
        print(f"  {name}: {said}")
    record_property("special", f"{len(clips)} special inputs, {elapsed:.0f} s")


def test_unreadable_file_is_refused_for_a_user_without_access(inputs):
    """As root the mode-0 file is refused by its mode; a user (nobody) by ``os.access``."""
    if os.geteuid() != 0:
        pytest.skip("not root: the mode-0 case above already runs as a user without access")
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        os.chmod(folder, 0o755)  # nobody may look inside, not read the clip
        clip = Path(folder) / "private.mp4"
        clip.write_bytes(inputs["bases"]["front"].read_bytes())
        clip.chmod(0o600)  # readable by its owner (root) only
        # Imports first (as root: the interpreter's own files may be private), then drop.
        code = (
            "import os; from kneevision.errors import VideoError; "
            "from kneevision.video.source import probe_video; "
            "os.setgid(65534); os.setuid(65534)\n"
            f"try:\n    probe_video({str(clip)!r})\n"
            "except VideoError as exc:\n    print(exc)"
        )
        run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                             text=True, timeout=60, check=False)  # fmt: skip
    assert run.stdout.strip() == f"{clip}: permission denied (the file is not readable)", (
        run.stdout + run.stderr[-1500:]
    )


# -- signals and a full disk -------------------------------------------------------------------


def _long_clip(root: Path) -> Path:
    clip = root / "long.mp4"
    if not clip.exists():
        ffmpeg("-i", str(BUNDLED), "-an", "-c:v", "copy", str(clip))
    return clip


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_run_stops_in_one_line_and_leaves_nothing(inputs, tmp_path, signum):
    clip, out = _long_clip(inputs["root"]), tmp_path / "out"
    # stderr on a terminal, so the progress bar shows; the signal follows its first count.
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a bar's width
    cmd = [sys.executable, "-m", "kneevision", "analyze", *FLAGS, "--out", str(out), str(clip)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and not re.search(rb"\b[1-9]\d*/\d+", seen):
            if select.select([master], [], [], 1.0)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:  # the run ended (EIO on the terminal's other side)
                    break
        assert re.search(rb"\b[1-9]\d*/\d+", seen), seen[-500:]
        assert any(p.name.endswith(".tmp") for p in out.iterdir()), "not mid-run"
        proc.send_signal(signum)
        proc.wait(timeout=30)
        with contextlib.suppress(OSError):
            while select.select([master], [], [], 0.5)[0]:
                chunk = os.read(master, 4096)
                if not chunk:
                    break
                seen += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode("utf-8", "replace"))
    lines = [s.strip() for s in re.split(r"[\r\n]+", text) if s.strip()]
    lines = [s for s in lines if "frame" not in s]  # the progress bar's own updates
    assert proc.returncode != 0
    assert lines == ["kneevision: interrupted"], lines
    assert not list(out.iterdir()), list(out.iterdir())


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir()
    if os.geteuid() != 0:
        return False
    run = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                         capture_output=True, check=False)  # fmt: skip
    return run.returncode == 0


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill


@pytest.mark.parametrize("how", ["tmpfs", "rlimit"])
def test_full_output_disk_is_one_line_and_nothing_half_written(inputs, tmp_path, how):
    clip = inputs["bases"]["front"]
    out = tmp_path / "out"
    kw: dict = {}
    if how == "tmpfs":
        if not _mount_tmpfs(out, "32k"):
            pytest.skip("cannot mount a tmpfs here (the rlimit case covers a full disk)")
    else:
        out.mkdir()
        kw["preexec_fn"] = _limit_file_size
    try:
        run = kneevision("--out", str(out), str(clip), **kw)
        left = list(out.iterdir())
    finally:
        if how == "tmpfs":
            subprocess.run(["umount", str(out)], check=False)
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    lines = run.stderr.splitlines()
    assert run.returncode == 1 and len(lines) == 1, run.stderr
    assert re.search(r"cannot write output \((No space left on device|File too large)\)", lines[0])
    assert not left, left
    assert stat.S_ISDIR(out.stat().st_mode)

"""Fixtures of the web app's tests: a real server in a subprocess, clips, a browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import BUNDLED, synthetic_clip
from tests.web.helpers import SHORT_CLIP, Server, seed_settings


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """The bundled sample, a short real squat, a clip with no person, a text file named .mp4."""
    d = tmp_path_factory.mktemp("clips")
    text = d / "notes.mp4"
    text.write_text("this is a text file, not a video\n")
    return {
        "bundled": BUNDLED,
        "short": SHORT_CLIP,
        "empty": synthetic_clip(d / "empty_room.mp4", seconds=1.0),
        "text": text,
    }


@pytest.fixture
def server_factory(tmp_path):
    """Start servers on data folders under tmp_path; all stopped afterwards."""
    started: list[Server] = []

    def make(data: Path | None = None, *args: str, seed: bool = True, port: int | None = None,
             wait: bool = True) -> Server:  # fmt: skip
        data = data or tmp_path / "data"
        if seed:
            seed_settings(data)
        s = Server(data, port, *args)
        started.append(s)
        return s.start(wait)

    yield make
    for s in started:
        s.stop()

"""Multipart uploads streamed to disk (never held in memory), capped, sniffed by content.

The request body is fed chunk by chunk to python-multipart's parser; each file part
goes straight into an owner-only temporary file in the data folder. A body larger
than the cap is refused as soon as it passes it, and a file whose first bytes are
not a video container the analysis reads is refused whatever its name.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

FIELD_LIMIT = 64 * 1024


class UploadError(Exception):
    """A refused upload: ``status`` (400, 413, 415) and a message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Upload:
    """One received file: the temporary path, the name the browser gave, its size."""

    path: Path
    filename: str
    size: int
    kind: str = ""


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[Upload] = field(default_factory=list)

    def discard(self) -> None:
        for f in self.files:
            f.path.unlink(missing_ok=True)
        self.files.clear()


def sniff(head: bytes) -> str | None:
    """The container a file's first bytes show (``mp4``, ``webm``, ``avi``), or None."""
    if len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"  # Matroska / WebM
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    return None


SUFFIX = {"mp4": ".mp4", "webm": ".mkv", "avi": ".avi"}


async def receive(request, tmp_dir: Path, max_bytes: int) -> Form:
    """Parse a multipart request into fields and files under ``tmp_dir``.

    Raises
    ------
    UploadError
        Not multipart, larger than ``max_bytes``, or a file that is not a video.
    """
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError(400, "send the clip as multipart/form-data")
    declared = request.headers.get("content-length")
    mb = max_bytes / 1e6
    if declared and declared.isdigit() and int(declared) > max_bytes + 1_000_000:
        raise UploadError(413, f"the upload is larger than the {mb:.0f} MB limit")
    tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    form = Form()
    state: dict = {"headers": {}, "name": "", "value": b"", "file": None, "fh": None, "size": 0,
                   "head": b"", "hname": b"", "hvalue": b""}  # fmt: skip

    def on_part_begin() -> None:
        state.update(headers={}, name="", value=b"", file=None, fh=None, size=0, head=b"")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["hname"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["hvalue"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["hname"].lower()] = state["hvalue"]
        state["hname"] = state["hvalue"] = b""

    def on_headers_finished() -> None:
        _, disp = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["name"] = disp.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in disp:
            filename = disp[b"filename"].decode("utf-8", "replace")
            path = tmp_dir / f".upload-{secrets.token_hex(8)}.part"
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            state["fh"] = os.fdopen(fd, "wb")
            state["file"] = Upload(path, Path(filename.replace("\\", "/")).name, 0)
            form.files.append(state["file"])

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if state["fh"] is not None:
            state["size"] += len(chunk)
            if state["size"] > max_bytes:
                raise UploadError(413, f"the clip is larger than the {mb:.0f} MB limit")
            if len(state["head"]) < 16:
                state["head"] += chunk[:16]
            state["fh"].write(chunk)
        else:
            state["value"] += chunk
            if len(state["value"]) > FIELD_LIMIT:
                raise UploadError(400, f"form field {state['name']!r} is too long")

    def on_part_end() -> None:
        if state["fh"] is not None:
            state["fh"].close()
            upload: Upload = state["file"]
            upload.size = state["size"]
            state["fh"] = None
            if upload.size == 0 and not upload.filename:
                form.files.remove(upload)  # an empty file input
                upload.path.unlink(missing_ok=True)
                return
            kind = sniff(state["head"])
            if kind is None:
                raise UploadError(
                    415,
                    f"{upload.filename or 'the file'} is not a video: its content is not "
                    "MP4/MOV, WebM/MKV or AVI (whatever its name says)",
                )
            upload.kind = kind
        else:
            form.fields[state["name"]] = state["value"].decode("utf-8", "replace")

    parser = MultipartParser(
        params[b"boundary"],
        callbacks={
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    total = 0
    refused: UploadError | None = None
    try:
        async for chunk in request.stream():
            if refused is not None:
                continue  # read the rest and drop it, so that the browser sees the answer
            total += len(chunk)
            try:
                if total > max_bytes + 1_000_000:
                    raise UploadError(413, f"the upload is larger than the {mb:.0f} MB limit")
                parser.write(chunk)
            except UploadError as exc:
                refused = exc
                _close(state, form)
        if refused is not None:
            raise refused
        parser.finalize()
    except BaseException:
        _close(state, form)
        raise
    return form


def _close(state: dict, form: Form) -> None:
    if state["fh"] is not None:
        state["fh"].close()
        state["fh"] = None
    form.discard()

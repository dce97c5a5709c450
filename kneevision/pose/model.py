"""Find, verify and (where a network exists) fetch the pose model bundle.

Resolution order for ``--model``:

1. an explicit path to a ``.task`` file;
2. a name (``lite``, ``full``, ``heavy``) looked up in ``$KNEEVISION_MODEL_DIR``;
3. the models shipped with KneeVision (``models/`` in a checkout,
   ``kneevision/_data/models`` in an installed wheel);
4. the user cache (``$XDG_CACHE_HOME/kneevision/models``);
5. a download from Google's official MediaPipe model storage into that cache,
   checked against the known sha256 before it is used.

Nothing is downloaded when the model is already available locally, so analysis
never touches the network on a normal install.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from kneevision.errors import ModelError

_URL = (
    "https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
    "pose_landmarker_{name}/float16/1/pose_landmarker_{name}.task"
)

#: Official sha256 of the float16 v1 bundles. The heavy model is not shipped and its
#: digest is not pinned here: a downloaded heavy model is recorded (trust on first
#: use) and checked on every later load.
KNOWN_SHA256: dict[str, str | None] = {
    "lite": "59929e1d1ee95287735ddd833b19cf4ac46d29bc7afddbbf6753c459690d574a",
    "full": "5134a3aad27a58b93da0088d431f366da362b44e3ccfbe3462b3827a839011b1",
    "heavy": None,
}

DEFAULT_MODEL = "full"


@dataclass(frozen=True)
class ModelFile:
    """A verified model bundle on disk.

    Attributes
    ----------
    name : str
        ``lite``, ``full``, ``heavy`` or the file stem of a user-supplied model.
    path : Path
        Location of the ``.task`` file.
    sha256 : str
        Digest of the file's bytes.
    """

    name: str
    path: Path
    sha256: str


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file's contents."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def shipped_model_dirs() -> list[Path]:
    """Folders where KneeVision's own models live (checkout and installed wheel)."""
    pkg = Path(__file__).resolve().parents[1]
    return [pkg / "_data" / "models", pkg.parent / "models"]


def cache_dir() -> Path:
    """The per-user model cache folder."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kneevision" / "models"


def _filename(name: str) -> str:
    return f"pose_landmarker_{name}.task"


def _verify(name: str, path: Path) -> ModelFile:
    """Check a candidate file: present, non-empty, right digest."""
    if not path.is_file():
        raise ModelError("model file not found", path)
    if path.stat().st_size == 0:
        raise ModelError("model file is empty", path)
    digest = sha256_file(path)
    expected = KNOWN_SHA256.get(name)
    if expected is None:
        # Trust on first use: a sidecar records the digest of a model we fetched.
        sidecar = path.with_suffix(".sha256")
        if sidecar.is_file():
            expected = sidecar.read_text().split()[0]
    if expected is not None and digest != expected:
        raise ModelError(
            f"model file is corrupt or not the official '{name}' model "
            f"(sha256 {digest[:12]}…, expected {expected[:12]}…); "
            "replace it or pass another file with --model PATH",
            path,
        )
    return ModelFile(name=name, path=path, sha256=digest)


def download_model(name: str, dest_dir: Path | None = None, timeout: float = 60.0) -> Path:
    """Download an official model into the cache and verify its digest.

    Parameters
    ----------
    name : str
        ``lite``, ``full`` or ``heavy``.
    dest_dir : Path, optional
        Target folder; the user cache by default.
    timeout : float
        Network timeout in seconds.

    Returns
    -------
    Path
        The verified file.

    Raises
    ------
    ModelError
        When offline, on an HTTP error, or when the digest does not match.
    """
    dest_dir = dest_dir or cache_dir()
    url = _URL.format(name=name)
    dest = dest_dir / _filename(name)
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest_dir, suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as r:
                while block := r.read(1 << 20):
                    out.write(block)
            digest = sha256_file(tmp)
            expected = KNOWN_SHA256.get(name)
            if expected is not None and digest != expected:
                raise ModelError(f"downloaded model has sha256 {digest}, expected {expected}", url)
            tmp.replace(dest)
            if expected is None:
                dest.with_suffix(".sha256").write_text(f"{digest}  {dest.name}\n")
        finally:
            tmp.unlink(missing_ok=True)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelError(
            f"model '{name}' is not available locally and could not be downloaded ({reason}); "
            "copy the .task file into $KNEEVISION_MODEL_DIR or pass --model PATH",
            url,
        ) from None
    return dest


def resolve_model(
    spec: str | os.PathLike | None = None, *, allow_download: bool = True
) -> ModelFile:
    """Find and verify the pose model named by ``spec``.

    Parameters
    ----------
    spec : str or path-like, optional
        ``lite``, ``full`` (default), ``heavy``, or a path to a ``.task`` file.
    allow_download : bool
        Whether step 5 (network) may be tried.

    Returns
    -------
    ModelFile

    Raises
    ------
    ModelError
        Unknown name, missing or corrupt file, or a failed download.
    """
    spec = DEFAULT_MODEL if spec is None else str(spec)
    if spec not in KNOWN_SHA256:
        path = Path(spec).expanduser()
        if path.suffix != ".task" and not path.exists():
            raise ModelError(
                f"unknown model '{spec}': use lite, full, heavy or a path to a .task file"
            )
        return _verify(path.stem, path)

    candidates: list[Path] = []
    if env := os.environ.get("KNEEVISION_MODEL_DIR"):
        candidates.append(Path(env).expanduser())
    candidates += [*shipped_model_dirs(), cache_dir()]
    for folder in candidates:
        path = folder / _filename(spec)
        if path.exists():
            return _verify(spec, path)
    if not allow_download:
        raise ModelError(f"model '{spec}' not found in " + ", ".join(str(c) for c in candidates))
    return _verify(spec, download_model(spec))

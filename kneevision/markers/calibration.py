"""Camera intrinsics: a printable ChArUco board, calibration from a clip, and the fallback.

Marker poses need the camera's focal length (and, for wide phone lenses, its
distortion). ``kneevision markers board`` prints a ChArUco board;
``kneevision markers calibrate`` films of it → an intrinsics JSON file that
``analyze --markers --intrinsics FILE`` uses. Without one, a horizontal
field-of-view guess stands in (``benchmarks/marker_accuracy.py`` prints what a
10% error in it costs).

The board uses a different dictionary (5×5) from the leg markers (4×4), so the
one is never mistaken for the other.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from kneevision.errors import KneeVisionError
from kneevision.outputs import atomic_file

BOARD_DICTIONARY = cv2.aruco.DICT_5X5_100
BOARD_SQUARES = (5, 7)  # columns, rows: 150 × 210 mm at 30 mm squares, fits A4
MARKER_TO_SQUARE = 0.75
FORMAT = "kneevision-intrinsics"


class CalibrationError(KneeVisionError):
    """The calibration footage or an intrinsics file cannot be used."""


def board(square_mm: float = 30.0) -> cv2.aruco.CharucoBoard:
    """The ChArUco board KneeVision prints (sizes in metres)."""
    return cv2.aruco.CharucoBoard(
        BOARD_SQUARES,
        square_mm / 1000,
        MARKER_TO_SQUARE * square_mm / 1000,
        cv2.aruco.getPredefinedDictionary(BOARD_DICTIONARY),
    )


def board_image(square_mm: float = 30.0, px_per_square: int = 120) -> np.ndarray:
    """The board as a grey image, edge to edge (no margin)."""
    cols, rows = BOARD_SQUARES
    b = board(square_mm)
    return b.generateImage((cols * px_per_square, rows * px_per_square), marginSize=0)


@dataclass(frozen=True)
class Intrinsics:
    """A calibrated camera at one frame size."""

    width: int
    height: int
    camera_matrix: list[list[float]]
    dist_coeffs: list[float]
    rms_px: float
    views: int
    square_mm: float
    source: str = ""

    @property
    def matrix(self) -> np.ndarray:
        """The 3×3 camera matrix."""
        return np.asarray(self.camera_matrix, dtype=float)

    @property
    def dist(self) -> np.ndarray:
        """Distortion coefficients (k1, k2, p1, p2, k3)."""
        return np.asarray(self.dist_coeffs, dtype=float)

    def save(self, path: str | Path) -> Path:
        """Write the JSON file (atomically)."""
        path = Path(path)
        with atomic_file(path) as tmp:
            tmp.write_text(json.dumps({"format": FORMAT, "version": 1, **asdict(self)}, indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Intrinsics:
        """Read an intrinsics file written by :meth:`save`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise CalibrationError("intrinsics file not found", path) from None
        except (OSError, ValueError) as exc:
            raise CalibrationError(f"not a readable intrinsics file ({exc})", path) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CalibrationError("not a KneeVision intrinsics file", path)
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in fields})

    def for_frames(self, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """Camera matrix and distortion for frames of ``width × height``.

        Same aspect ratio: scaled. Transposed (a portrait clip from a landscape
        calibration): turned by 90°, assuming the principal point near the
        centre (tangential terms turned with it). Anything else is an error.
        """
        k, d = self.matrix.copy(), self.dist.copy()
        w, h = self.width, self.height
        if (
            abs(width * h - height * w) > 0.01 * w * h
            and abs(width * w - height * h) <= 0.01 * w * h
        ):
            k = np.array([[k[1, 1], 0, h - k[1, 2]], [0, k[0, 0], k[0, 2]], [0, 0, 1.0]])
            if d.size >= 4:
                d[2], d[3] = d[3], -d[2]
            w, h = h, w
        if abs(width * h - height * w) > 0.01 * w * h:
            raise CalibrationError(
                f"calibrated at {self.width}x{self.height}, but the video is {width}x{height}: "
                "calibrate at this video's size",
                self.source or "intrinsics",
            )
        s = width / w
        k[:2] *= s
        return k, d


def fov_intrinsics(width: int, height: int, fov_deg: float = 65.0) -> np.ndarray:
    """Camera matrix from a horizontal field-of-view guess (phones: about 65–75°)."""
    f = (width / 2) / math.tan(math.radians(fov_deg) / 2)
    return np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])


def calibrate(
    frames: Iterable,
    square_mm: float = 30.0,
    *,
    max_views: int = 40,
    min_corners: int = 10,
    source: str = "",
) -> Intrinsics:
    """Intrinsics from frames showing the ChArUco board from several angles.

    Parameters
    ----------
    frames : iterable of Frame
        E.g. every frame of a clip filmed while tilting the board (or the phone).
    square_mm : float
        The printed square size (measure it; 30 mm when printed at 100%).
    max_views, min_corners : int
        At most ``max_views`` views, spread over the clip, each with at least
        ``min_corners`` board corners, go into the fit.

    Raises
    ------
    CalibrationError
        Fewer than 6 usable views.
    """
    b = board(square_mm)
    det = cv2.aruco.CharucoDetector(b)
    views: list[tuple[np.ndarray, np.ndarray]] = []
    size = None
    for frame in frames:
        gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        size = gray.shape[::-1]
        corners, ids, _, _ = det.detectBoard(gray)
        if ids is None or len(ids) < min_corners:
            continue
        obj, img = b.matchImagePoints(corners, ids)
        if b.checkCharucoCornersCollinear(ids):
            continue
        views.append((obj.reshape(-1, 3).astype(np.float32), img.reshape(-1, 2).astype(np.float32)))
    if size is None:
        raise CalibrationError("no frames to calibrate from", source)
    if len(views) < 6:
        raise CalibrationError(
            f"the board was found in only {len(views)} frames (6 needed): film the whole "
            "board, well lit, tilted in several directions",
            source,
        )
    picked = [
        views[i]
        for i in np.linspace(0, len(views) - 1, min(max_views, len(views))).round().astype(int)
    ]
    rms, k, d, _, _ = cv2.calibrateCamera(
        [o for o, _ in picked], [i for _, i in picked], size, None, None, flags=cv2.CALIB_FIX_K3
    )
    return Intrinsics(
        width=int(size[0]),
        height=int(size[1]),
        camera_matrix=np.asarray(k).tolist(),
        dist_coeffs=np.asarray(d).ravel().tolist(),
        rms_px=float(rms),
        views=len(picked),
        square_mm=square_mm,
        source=source,
    )


def camera_for(
    width: int, height: int, fov_deg: float, intrinsics: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """The camera for marker poses: a calibration file if given, else the field-of-view guess.

    Returns
    -------
    (ndarray, ndarray or None, dict)
        Camera matrix, distortion coefficients, and what was used (for summary.json).
    """
    if intrinsics:
        cal = Intrinsics.load(intrinsics)
        cal = Intrinsics(**{**asdict(cal), "source": str(intrinsics)})
        k, d = cal.for_frames(width, height)
        return k, d, {"intrinsics": str(intrinsics), "calibration_rms_px": cal.rms_px,
                      "camera_matrix": k.tolist()}  # fmt: skip
    k = fov_intrinsics(width, height, fov_deg)
    return k, None, {"fov_deg": fov_deg, "camera_matrix": k.tolist()}

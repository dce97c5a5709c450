"""`PoseSequence`: the landmarks of one clip as arrays, saved and loaded as ``.npz``.

Frames without a person are kept as NaN rows, so row ``i`` is always frame ``i``
of the source and timing is never lost.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: MediaPipe Pose landmark names, by index (BlazePose topology).
LANDMARK_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
    "right_eye", "right_eye_outer", "left_ear", "right_ear", "mouth_left",
    "mouth_right", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index",
    "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip
N_LANDMARKS = len(LANDMARK_NAMES)
#: Landmark index by name, e.g. ``INDEX["left_hip"]`` → 23.
INDEX: dict[str, int] = {name: i for i, name in enumerate(LANDMARK_NAMES)}
SCHEMA = 1


@dataclass
class PoseSequence:
    """Pose landmarks of one clip.

    Attributes
    ----------
    time_s : ndarray, shape (T,)
        Presentation time of each frame in seconds.
    image : ndarray, shape (T, 33, 2)
        Image landmarks in upright, square pixels (x right, y down). NaN without a pose.
    visibility, presence : ndarray, shape (T, 33)
        MediaPipe's per-landmark visibility and presence scores in [0, 1].
    world : ndarray, shape (T, 33, 3)
        World landmarks in metres, origin between the hips (MediaPipe's frame:
        x toward the image's right, y down, z away from the camera).
    people : ndarray, shape (T,)
        Number of people the landmarker found in each frame.
    width, height : int
        Frame size in (square) pixels.
    fps : float
        Nominal frame rate of the source.
    model_name, model_sha256 : str
        The pose model used.
    meta : dict
        Free-form provenance (source path, rotation, settings).
    """

    time_s: np.ndarray
    image: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world: np.ndarray
    people: np.ndarray
    width: int
    height: int
    fps: float
    model_name: str = ""
    model_sha256: str = ""
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def has_pose(self) -> np.ndarray:
        """Boolean mask, shape (T,): frames where a person was found."""
        hips = [INDEX["left_hip"], INDEX["right_hip"]]
        return np.isfinite(self.image[:, hips, 0]).all(axis=1)

    @property
    def frames_with_pose(self) -> int:
        """How many frames have a pose."""
        return int(self.has_pose.sum())

    @classmethod
    def empty(cls, n: int, width: int, height: int, fps: float, **kw: object) -> PoseSequence:
        """An all-NaN sequence of ``n`` frames, to be filled row by row."""
        nan = np.full
        return cls(
            time_s=nan(n, np.nan),
            image=nan((n, N_LANDMARKS, 2), np.nan),
            visibility=nan((n, N_LANDMARKS), np.nan),
            presence=nan((n, N_LANDMARKS), np.nan),
            world=nan((n, N_LANDMARKS, 3), np.nan),
            people=np.zeros(n, dtype=np.int16),
            width=width,
            height=height,
            fps=fps,
            **kw,  # type: ignore[arg-type]
        )

    def mirrored(self, flip_coordinates: bool = True) -> PoseSequence:
        """The same sequence as seen in a horizontally flipped video.

        The left and right landmarks swap names, as a mirror does; with
        ``flip_coordinates`` image x also becomes ``width - x`` and world x
        changes sign. ``flip_coordinates=False`` only relabels the sides: that is
        how a mirrored (selfie) clip is put right while its pixel coordinates keep
        matching the video file.
        """
        perm = MIRROR_PERMUTATION
        image = self.image[:, perm].copy()
        world = self.world[:, perm].copy()
        if flip_coordinates:
            image[..., 0] = self.width - image[..., 0]
            world[..., 0] = -world[..., 0]
        return PoseSequence(
            time_s=self.time_s.copy(),
            image=image,
            visibility=self.visibility[:, perm].copy(),
            presence=self.presence[:, perm].copy(),
            world=world,
            people=self.people.copy(),
            width=self.width,
            height=self.height,
            fps=self.fps,
            model_name=self.model_name,
            model_sha256=self.model_sha256,
            meta={**self.meta, "mirrored": not self.meta.get("mirrored", False)},
        )

    def save(self, path: str | Path) -> None:
        """Write to ``.npz`` atomically (temporary file, then rename)."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.part")
        os.close(fd)
        try:
            with open(tmp, "wb") as fh:
                np.savez_compressed(
                    fh,
                    schema=SCHEMA,
                    time_s=self.time_s,
                    image=self.image.astype(np.float32),
                    visibility=self.visibility.astype(np.float32),
                    presence=self.presence.astype(np.float32),
                    world=self.world.astype(np.float32),
                    people=self.people,
                    header=json.dumps(
                        {
                            "width": self.width,
                            "height": self.height,
                            "fps": self.fps,
                            "model_name": self.model_name,
                            "model_sha256": self.model_sha256,
                            "meta": self.meta,
                        }
                    ),
                )
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)

    @classmethod
    def load(cls, path: str | Path) -> PoseSequence:
        """Read a sequence written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            return cls(
                time_s=z["time_s"].astype(float),
                image=z["image"].astype(float),
                visibility=z["visibility"].astype(float),
                presence=z["presence"].astype(float),
                world=z["world"].astype(float),
                people=z["people"],
                **header,
            )


def _mirror_index() -> dict[int, int]:
    out = {}
    for i, name in enumerate(LANDMARK_NAMES):
        if name.startswith("left_"):
            twin = "right_" + name[5:]
        elif name.startswith("right_"):
            twin = "left_" + name[6:]
        elif name == "mouth_left":
            twin = "mouth_right"
        elif name == "mouth_right":
            twin = "mouth_left"
        else:
            twin = name
        out[i] = LANDMARK_NAMES.index(twin)
    return out


#: Index permutation that swaps left and right landmarks (what a mirror does).
MIRROR_PERMUTATION = np.array([_mirror_index()[i] for i in range(N_LANDMARKS)])

#: Shoulder and hip lines this wide against the trunk (image) tell which way the body faces.
FACING_MIN_RATIO = 0.3


def facing_sign(image: np.ndarray, min_ratio: float = FACING_MIN_RATIO) -> np.ndarray:
    """Which way the labels say the body faces: +1, −1, or 0 when unclear.

    The sign of the left-minus-right image x of the shoulders plus the hips (+1: the
    person's left on the image right, i.e. facing the camera as the pose model labels
    it), or 0 when that width is under ``min_ratio`` of the trunk length (side-on, or
    missing).

    Parameters
    ----------
    image : ndarray, shape (..., 33, 2)
        Image landmarks of one frame or of many.

    Returns
    -------
    ndarray, shape (...)
    """
    ls, rs, lh, rh = (
        image[..., INDEX[n], :]
        for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    )
    across = (ls[..., 0] - rs[..., 0]) + (lh[..., 0] - rh[..., 0])
    trunk = np.linalg.norm((ls + rs) / 2 - (lh + rh) / 2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = across / (2 * trunk)
        return np.where(np.isfinite(r) & (np.abs(r) >= min_ratio), np.sign(r), 0.0)

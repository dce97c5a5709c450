"""Single-camera knee angles against a 3-D reference from four calibrated real cameras.

The rendered-video validity table measures KneeVision against an exact truth, but on a
rendered body. This benchmark checks the same numbers on real pixels: the four
synchronised, calibrated cameras of ``balance_single_leg_lab_P`` (Pose2Sim's demo, in
``../shared/samples/``) each go through ``kneevision analyze`` as a user would run it;
the hip, knee and ankle the four analyses found are triangulated into a 3-D reference
(per frame, the left/right labelling of each view that agrees best with the others,
views reprojecting over 15 px dropped), and each camera's reported angles are compared
with the reference:

- knee flexion per frame as ``angles.csv`` reports it, against the flexion of the
  triangulated joints (slope, bias, median |error|);
- FPPA per frame against the FPPA of the reference joints projected into that camera,
  which separates the model's 2-D placement from the view's geometry; the reference's
  joints are the model's own landmarks triangulated, so they carry its knee placement
  and are read as ``angles.csv`` reads the camera's (×
  :data:`~kneevision.kinematics.flexion.FPPA_GAIN`): this compares views, it cannot
  check that correction;
- how often the view's left and right legs were swapped against the consensus: in the
  pose model's raw labels, and as the analysis reports them (after it put back the
  labels it found exchanged, :func:`~kneevision.kinematics.series.leg_label_swaps`); the
  angles are compared leg for leg by the reported labels.

Calibration: Qualisys ``.qca.txt`` (focal length and principal point in 1/64 px,
camera centre in mm, world Z up); the OpenCV rotation is ``diag(1, −1, −1) · M`` with
``M`` the ``r11…r33`` matrix read row by row, as Pose2Sim converts it.

Run: ``python benchmarks/multicam_reference.py [--out DIR] [--model full|lite]``.
The reference is only as good as the triangulation: its median reprojection error is
printed, and fixed points of the room reproject at 6–15 px with this calibration.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kneevision.api import Table
from kneevision.kinematics.angles import knee_flexion
from kneevision.kinematics.flexion import landmark_fppa
from kneevision.kinematics.landmarks import JOINTS, LEGS, SIDES, leg, other
from kneevision.pose.sequence import PoseSequence
from kneevision.protocols.base import prepare

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
CLIP = "balance_single_leg_lab_P"
CAMERAS = ("cam01", "cam02", "cam03", "cam04")
#: A view whose reprojection of the triangulated point is worse than this is dropped.
MAX_REPROJECTION_PX = 15.0
#: The joints triangulated and compared.
TRIANGULATED = ("hip", "knee", "ankle")


@dataclass(frozen=True)
class CalibratedCamera:
    """A pinhole camera in OpenCV's convention: x = K (R X + t), X in metres."""

    name: str
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    size: tuple[int, int]

    def project(self, X: np.ndarray) -> np.ndarray:
        """World points (..., 3) → pixels (..., 2)."""
        c = X @ self.R.T + self.t
        uv = c @ self.K.T
        return uv[..., :2] / uv[..., 2:3]

    @property
    def P(self) -> np.ndarray:
        return self.K @ np.hstack([self.R, self.t[:, None]])

    @property
    def centre(self) -> np.ndarray:
        return -self.R.T @ self.t


def read_qca(path: Path) -> dict[str, CalibratedCamera]:
    """The cameras of a Qualisys ``.qca.txt`` calibration (see the module docstring)."""
    out = {}
    for cam in ET.parse(path).getroot().iter("camera"):
        tr, it, fov = cam.find("transform"), cam.find("intrinsic"), cam.find("fov_video")
        g = {k: float(v) for k, v in {**tr.attrib, **it.attrib}.items() if _num(v)}
        M = np.array([[g[f"r{i}{j}"] for j in (1, 2, 3)] for i in (1, 2, 3)])
        R = np.diag([1.0, -1.0, -1.0]) @ M
        C = np.array([g["x"], g["y"], g["z"]]) / 1000.0
        left, top = float(fov.get("left")), float(fov.get("top"))
        K = np.array([[g["focalLengthU"] / 64, 0, g["centerPointU"] / 64 - left],
                      [0, g["focalLengthV"] / 64, g["centerPointV"] / 64 - top],
                      [0, 0, 1]])  # fmt: skip
        size = (int(float(fov.get("right")) - left) + 1, int(float(fov.get("bottom")) - top) + 1)
        out[cam.get("serial")] = CalibratedCamera(cam.get("serial"), K, R, -R @ C, size)
    return out


def _num(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def triangulate(P: list[np.ndarray], uv: list[np.ndarray]) -> np.ndarray:
    """Linear (DLT) triangulation of one point seen in several views."""
    rows = []
    for p, (u, v) in zip(P, uv, strict=True):
        rows += [u * p[2] - p[0], v * p[2] - p[1]]
    _, _, vt = np.linalg.svd(np.asarray(rows))
    X = vt[-1]
    return X[:3] / X[3]


SWAP = {JOINTS[j][s]: JOINTS[j][o] for j in JOINTS for s, o in (("left", "right"),
                                                                 ("right", "left"))}  # fmt: skip


def reported_swaps(image: np.ndarray, proj: np.ndarray) -> np.ndarray:
    """Frames whose hip, knee and ankle labels sit nearer the reference's other leg.

    ``image`` (T, 33, 2) as the analysis read it, ``proj`` (T, 33, 2) the reference
    projected into the same camera.
    """
    idx = [JOINTS[j][s] for j in TRIANGULATED for s in SIDES]
    mine = image[:, idx]
    same = np.linalg.norm(mine - proj[:, idx], axis=-1).sum(axis=1)
    cross = np.linalg.norm(mine - proj[:, [SWAP[i] for i in idx]], axis=-1).sum(axis=1)
    return cross < same


def swapped(points: np.ndarray) -> np.ndarray:
    """Landmarks (33, 2) with the left and right leg/arm labels exchanged."""
    out = points.copy()
    for a, b in SWAP.items():
        out[a] = points[b]
    return out


def _triangulate_robust(
    cams: list[CalibratedCamera], pts: list[np.ndarray], i: int
) -> tuple[np.ndarray, list[float]]:
    """Landmark ``i`` from the views that see it, the worst dropped while over the limit."""
    views = [k for k in range(len(cams)) if np.isfinite(pts[k][i]).all()]
    while len(views) >= 2:
        Xi = triangulate([cams[k].P for k in views], [pts[k][i] for k in views])
        e = {k: float(np.linalg.norm(cams[k].project(Xi) - pts[k][i])) for k in views}
        worst = max(e, key=e.get)
        if e[worst] <= MAX_REPROJECTION_PX or len(views) == 2:
            return Xi, list(e.values())
        views.remove(worst)
    return np.full(3, np.nan), []


def reference_frame(
    cams: list[CalibratedCamera], image: list[np.ndarray]
) -> tuple[np.ndarray, tuple[bool, ...], float]:
    """Triangulated joints (33, 3; NaN where not triangulated) of one frame.

    Each view's labelling (as found, or left/right swapped) is the one with which all
    views agree best (reprojection of every view, each capped at 50 px so one bad view
    cannot dominate); then each joint is triangulated with views reprojecting over
    :data:`MAX_REPROJECTION_PX` dropped (while at least two remain). Returns the points,
    the swaps chosen and the median reprojection error of the views kept (px).
    """
    best: tuple[float, tuple[bool, ...]] | None = None
    for rest in itertools.product((False, True), repeat=len(cams) - 1):
        swaps = (False, *rest)  # the first view fixes which leg is "left" (checked later)
        pts = [swapped(im) if s else im for im, s in zip(image, swaps, strict=True)]
        cost = 0.0
        for i in LEGS:
            views = [k for k in range(len(cams)) if np.isfinite(pts[k][i]).all()]
            if len(views) < 2:
                continue
            Xi = triangulate([cams[k].P for k in views], [pts[k][i] for k in views])
            cost += sum(min(float(np.linalg.norm(cams[k].project(Xi) - pts[k][i])), 50.0)
                        for k in views)  # fmt: skip
        if best is None or cost < best[0]:
            best = (cost, swaps)
    assert best is not None
    swaps = best[1]
    pts = [swapped(im) if s else im for im, s in zip(image, swaps, strict=True)]
    X = np.full((33, 3), np.nan)
    errs: list[float] = []
    for i in (*LEGS, *(JOINTS["shoulder"][s] for s in SIDES)):
        X[i], e = _triangulate_robust(cams, pts, i)
        errs += e
    return X, swaps, float(np.median(errs)) if errs else np.nan


def anatomical(ref: np.ndarray, swaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make the reference's "left" the person's left, from where the feet point.

    The toes point forward; the left hip is on the left of that direction (world Z
    up). If the first view's labels (which the reference took) were the wrong way
    round, every label and every view's swap flips.
    """
    front = _feet_direction(ref)
    across = np.nanmedian(ref[:, JOINTS["hip"]["left"]] - ref[:, JOINTS["hip"]["right"]],
                          axis=0)[:2]  # fmt: skip
    left_of_front = np.array([-front[1], front[0]])  # up × front
    if float(np.dot(across, left_of_front)) >= 0:
        return ref, swaps
    return np.stack([swapped(f) for f in ref]), ~swaps


def analyse(clip: Path, out: Path, model: str, reuse: bool = False) -> Path:
    """``kneevision analyze`` on one view, as a user runs it; its output folder."""
    folder = out / f"{clip.stem}_kneevision"
    if reuse and (folder / "angles.csv").is_file():
        return folder
    cmd = [sys.executable, "-m", "kneevision", "analyze", str(clip), "--out", str(out), "-q",
           "--protocol", "balance", "--no-report", "--no-overlay", "--model", model]  # fmt: skip
    subprocess.run(cmd, check=True)
    return folder


def fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, int]:
    """Slope of y against x, median error (y − x), median |error|, n."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return (np.nan, np.nan, np.nan, int(ok.sum()))
    slope = float(np.polyfit(x[ok], y[ok], 1)[0])
    e = y[ok] - x[ok]
    return slope, float(np.median(e)), float(np.median(np.abs(e))), int(ok.sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, help="keep the analyses here (default: a temp dir)")
    ap.add_argument("--model", default="full", choices=("full", "lite", "heavy"))
    ap.add_argument("--reuse", action="store_true", help="keep analyses already in --out")
    args = ap.parse_args(argv)
    calib = read_qca(SAMPLES / f"{CLIP}_calib.qca.txt")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        folders = [analyse(SAMPLES / f"{CLIP}_{c}.mp4", out, args.model, args.reuse)
                   for c in CAMERAS]  # fmt: skip
        poses = [PoseSequence.load(f / "pose.npz") for f in folders]
        angles = [Table.read_csv(f / "angles.csv") for f in folders]
    cams = [calib[c] for c in CAMERAS]
    n = min(len(p.image) for p in poses)
    ref = np.full((n, 33, 3), np.nan)
    swaps = np.zeros((n, len(cams)), bool)
    reproj = np.full(n, np.nan)
    for f in range(n):
        ref[f], sw, reproj[f] = reference_frame(cams, [p.image[f].astype(float) for p in poses])
        swaps[f] = sw
    ref, swaps = anatomical(ref, swaps)
    ref_flex = {s: knee_flexion(*(leg(ref, s)[k] for k in TRIANGULATED)) for s in SIDES}
    print(f"{CLIP}: {n} frames, 4 cameras, model {args.model}")
    print(f"reference: median reprojection {np.nanmedian(reproj):.1f} px "
          f"(p95 {np.nanpercentile(reproj, 95):.1f}); knee flexion range "
          + ", ".join(f"{s} {np.nanmin(ref_flex[s]):.0f}–{np.nanmax(ref_flex[s]):.0f}°"
                      for s in SIDES))  # fmt: skip
    print()
    print(
        "| camera | view | legs swapped (frames): raw / reported | knee flexion, leg: "
        "slope / bias / median abs error | FPPA against the reference projected into the "
        "camera, leg: bias / median abs error |"
    )
    print("|---|---|---|---|---|")
    for k, (c, a, pose) in enumerate(zip(cams, angles, poses, strict=True)):
        flex_cells, fppa_cells = [], []
        proj = c.project(ref)
        told = reported_swaps(prepare(pose).image[:n], proj)
        for s in SIDES:
            # Where the reported labels are swapped, its "left" is the reference's right.
            mine = np.where(told, a[f"{other(s)}_knee_flexion_deg"][:n],
                            a[f"{s}_knee_flexion_deg"][:n])  # fmt: skip
            slope, bias, mae, _ = fit(ref_flex[s], mine)
            flex_cells.append(f"{s} {slope:.2f} / {bias:+.1f}° / {mae:.1f}°")
            jp = leg(proj, s)
            ref_fp = landmark_fppa(jp["hip"], jp["knee"], jp["ankle"], jp["other_hip"])
            mine_fp = np.where(told, a[f"{other(s)}_fppa_deg"][:n],
                               a[f"{s}_fppa_deg"][:n])  # fmt: skip
            _, fb, fm, _ = fit(ref_fp, mine_fp)
            fppa_cells.append(f"{s} {fb:+.1f}° / {fm:.1f}°")
        view = _view(c, ref)
        swapped_cell = f"{int(swaps[:, k].sum())} / {int(told.sum())} of {n}"
        print(f"| {c.name} | {view} | {swapped_cell} | "
              f"{'; '.join(flex_cells)} | {'; '.join(fppa_cells)} |")  # fmt: skip
    return 0


def _feet_direction(ref: np.ndarray) -> np.ndarray:
    """Where the feet point on the floor (median heel → toe, world x–y; Z is up)."""
    return np.nanmedian(np.concatenate([ref[:, JOINTS["toe"][s]] - ref[:, JOINTS["heel"][s]]
                                        for s in SIDES]), axis=0)[:2]  # fmt: skip


def _view(cam: CalibratedCamera, ref: np.ndarray) -> str:
    """The camera's azimuth from the body's front (where the feet point), as words."""
    front = _feet_direction(ref)
    mid = np.nanmedian((ref[:, JOINTS["hip"]["left"]] + ref[:, JOINTS["hip"]["right"]]) / 2, 0)
    to_cam = (cam.centre - mid)[:2]
    cross = front[0] * to_cam[1] - front[1] * to_cam[0]
    az = np.degrees(np.arctan2(cross, np.dot(front, to_cam)))
    return f"{abs(az):.0f}° from the front"


if __name__ == "__main__":
    raise SystemExit(main())

"""Marker-mode tibial rotation error on synthetic renders with known poses.

Usage::

    python benchmarks/marker_accuracy.py [--4k]

Real ArUco images warped onto planes at known 3-D poses through a phone-like
camera (1920×1080, 1500 px focal length, 65° field of view), with random blur,
noise, JPEG compression and lighting, moved like a seated twist test over
−40…+40°. Prints the error table by marker size and distance (median and 95th
percentile of |error|, share of frames with both markers), the error by rotation
angle at 40 mm / 1 m, 30 mm markers filmed in 4K, 30 mm markers beyond 1.5 m (how
small a marker can get before it goes unread), the effect of a wrong
field-of-view guess (±10%), and the same with intrinsics calibrated from rendered
views of the printed board.
"""

from __future__ import annotations

import argparse

import numpy as np
from common import print_figures

from kneevision.markers.calibration import calibrate
from kneevision.markers.render import board_views, camera_matrix, measure_twist_error
from kneevision.video.source import Frame


def stats(err: np.ndarray) -> tuple[float, float]:
    e = np.abs(err[np.isfinite(err)])
    return (float(np.median(e)), float(np.percentile(e, 95))) if e.size else (np.nan, np.nan)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--4k", dest="four_k", action="store_true",
                    help="only the size × distance table, filmed in 4K (about 35 min)")  # fmt: skip
    args = ap.parse_args()
    camera = {"width": 3840, "height": 2160, "focal_px": 3000.0} if args.four_k else {}
    print(f"{'size':>6} {'distance':>8} {'median':>7} {'p95':>6} {'seen':>5}")
    result = {}
    for size in (0.03, 0.04, 0.05):
        for dist in (0.5, 1.0, 1.5):
            _, err, seen = measure_twist_error(
                size, dist, seed=int(size * 1000 + dist * 10), **camera
            )
            med, p95 = stats(err)
            print(f"{size * 1000:4.0f}mm {dist:7.1f}m {med:6.2f}° {p95:5.2f}° {seen:5.2f}")
            result[f"{size * 1000:.0f}mm_{dist:.1f}m"] = {
                "median": round(med, 2),
                "p95": round(p95, 2),
                "seen": round(seen, 2),
            }
    if args.four_k:
        print_figures({k: str(v) for k, v in result.items()})
        return
    print("\n30 mm markers filmed in 4K (3840×2160, 3000 px focal length):")
    for dist in (1.0, 1.5):
        _, err, seen = measure_twist_error(
            0.03, dist, width=3840, height=2160, focal_px=3000.0, seed=int(30 + dist * 10)
        )
        med, p95 = stats(err)
        print(f"  30mm {dist:4.1f}m {med:6.2f}° {p95:5.2f}° {seen:5.2f}")
        result[f"4k_30mm_{dist:.1f}m"] = {"median": round(med, 2), "p95": round(p95, 2)}
    print("\nhow small: 30 mm markers beyond 1.5 m in 1080p (markers_small flag below 25 px):")
    for dist in (2.0, 2.25, 2.5):
        _, err, seen = measure_twist_error(0.03, dist, seed=int(30 + dist * 10))
        med, p95 = stats(err)
        px = 1500 * 0.03 / dist
        print(f"  30mm {dist:4.2f}m ({px:.0f} px) {med:6.2f}° {p95:5.2f}° seen {seen:5.2f}")
        result[f"30mm_{dist:.2f}m"] = {"median": round(med, 2), "p95": round(p95, 2), "seen": seen}
    truth, err, _ = measure_twist_error(0.04, 1.0, seed=7)
    print("\nby true rotation, 40 mm at 1 m:")
    for lo in range(-40, 40, 20):
        sel = (truth >= lo) & (truth < lo + 20)
        med, p95 = stats(err[sel])
        print(f"  {lo:+3d}…{lo + 20:+3d}°: median {med:.2f}°  p95 {p95:.2f}°")
    print("\nfield-of-view guess off by ±10% (focal length), 40 mm at 1 m:")
    for f in (1350.0, 1650.0):
        med, p95 = stats(measure_twist_error(0.04, 1.0, analysis_focal_px=f, seed=7)[1])
        print(f"  focal {f:.0f} px instead of 1500: median {med:.2f}°  p95 {p95:.2f}°")
        result[f"focal_{f:.0f}"] = {"median": round(med, 2), "p95": round(p95, 2)}
    print("\nintrinsics from 'markers calibrate' on 16 rendered board views, 40 mm at 1 m:")
    camera = camera_matrix(1500.0, 1920, 1080)
    views = [Frame(i, i / 30, im) for i, im in enumerate(board_views(camera, (1920, 1080)))]
    cal = calibrate(views)
    f = float(cal.matrix[0, 0])
    med, p95 = stats(measure_twist_error(0.04, 1.0, analysis_focal_px=f, seed=7)[1])
    print(f"  focal {f:.1f} px (true 1500, rms {cal.rms_px:.2f} px): ", end="")
    print(f"median {med:.2f}°  p95 {p95:.2f}°")
    result["calibrated"] = {"focal": round(f, 1), "median": round(med, 2), "p95": round(p95, 2)}
    print()
    print_figures({k: str(v) for k, v in result.items()})


if __name__ == "__main__":
    main()

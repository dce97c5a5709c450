"""How far 2-D FPPA drifts from the true frontal-plane angle as the camera turns.

A synthetic squat (valgus 10° left, 5° varus right at the bottom) seen by a
pinhole camera at knee height, 3.5 m away; the camera swings round the subject
(yaw) and looks down (pitch). The table gives the worst |error| over both knees
at the bottom of the rep, for several squat depths.

Usage: ``python benchmarks/fppa_camera_tolerance.py``
"""

from __future__ import annotations

import numpy as np

from kneevision import synthetic as S
from kneevision.kinematics import SIDES, fppa, leg

YAWS = (0, 5, 10, 15, 20, 30)
PITCHES = (0, 10, 20)
DEPTHS = (0, 30, 60, 90)


def error_at_bottom(depth: float, yaw: float, pitch: float) -> float:
    scene = S.squat_scene(1, depth_deg=depth, valgus_deg={"left": 10.0, "right": -5.0})
    cam = S.Camera.facing([0, 0.45, 0], distance=3.5, yaw_deg=yaw, pitch_deg=pitch)
    img = cam.project(scene.world)
    bottom = int(np.argmax(scene.truth["left_knee_flexion_deg"])) if depth else len(img) // 2
    errs = []
    for side in SIDES:
        j = leg(img[bottom], side)
        got = fppa(j["hip"], j["knee"], j["ankle"], j["other_hip"])
        errs.append(abs(got - scene.truth[f"{side}_fppa_deg"][bottom]))
    return float(max(errs))


def main() -> None:
    print("worst |FPPA error| (deg) at the bottom of the rep; camera 3.5 m, knee height")
    header = "depth  pitch " + "".join(f"  yaw {y:>2}" for y in YAWS)
    print(header)
    for depth in DEPTHS:
        for pitch in PITCHES:
            row = "".join(f"  {error_at_bottom(depth, y, pitch):6.1f}" for y in YAWS)
            print(f"{depth:4d}°  {pitch:4d}° {row}")


if __name__ == "__main__":
    main()

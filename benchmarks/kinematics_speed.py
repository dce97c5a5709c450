"""Time every angle of the kinematics core on 100,000 frames (both legs).

Usage: ``python benchmarks/kinematics_speed.py [--frames 100000]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from kneevision import kinematics as K


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=100_000)
    n = ap.parse_args().frames
    rng = np.random.default_rng(0)
    world = rng.normal(size=(n, 33, 3))
    image = rng.normal(size=(n, 33, 2)) * 100 + 500

    def all_angles() -> None:
        for side in K.SIDES:
            w, i = K.leg(world, side), K.leg(image, side)
            K.knee_flexion(w["hip"], w["knee"], w["ankle"])
            K.knee_flexion(i["hip"], i["knee"], i["ankle"])
            K.fppa(i["hip"], i["knee"], i["ankle"], i["other_hip"])
            K.tibial_rotation(w["hip"], w["knee"], w["ankle"], w["heel"], w["toe"], w["other_hip"])
            K.knee_abduction(w["hip"], w["knee"], w["ankle"], w["other_hip"])
            K.medial_knee_displacement(i["hip"], i["knee"], i["ankle"], i["other_hip"])
            K.hip_adduction(i["hip"], i["knee"], i["other_hip"])
            K.ankle_dorsiflexion(i["knee"], i["ankle"])
        K.knee_ankle_separation_ratio(image[:, 25], image[:, 26], image[:, 27], image[:, 28])
        K.pelvic_drop(image[:, 23], image[:, 24])

    all_angles()  # warm-up
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        all_angles()
        times.append(time.perf_counter() - t0)
    print(f"frames                      {n}")
    print(f"all angles, both legs (s)   best {min(times):.3f}  median {np.median(times):.3f}")
    print(f"frames per second           {n / min(times):,.0f}")


if __name__ == "__main__":
    main()

"""Rendering speed of the digital human (frames per second, one process).

Renders the same squat frames at 960×540 and 1920×1080 with the default 2×
supersampling (and 3× for marker clips), pose and skinning included, encoding not.
For comparison: the throw-away prototype this replaced (painter's algorithm,
2× supersampling) took about 0.45 s a 960×540 frame on this machine's 2 cores.

Usage: ``python benchmarks/render_speed.py [--frames 30]``
"""

from __future__ import annotations

import argparse
import os
import time

from kneevision.digital_human.body import BodyShape, rest_body
from kneevision.digital_human.markers import marker_meshes
from kneevision.digital_human.render import PhoneCamera, Renderer
from kneevision.digital_human.scenes import squat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=30)
    n = ap.parse_args().frames
    scene = squat(1, 80.0, rest=rest_body(BodyShape()))
    poses = scene.poses[:: max(1, len(scene.poses) // n)][:n]
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
    for (w, h), ss, markers in (((960, 540), 2, None), ((1920, 1080), 2, None),
                                ((1920, 1080), 3, 40.0)):  # fmt: skip
        r = Renderer(camera=PhoneCamera(width=w, height=h, distance=3.0), supersample=ss)
        r.frame(r.pose(poses[0]))  # warm-up: caches
        t0 = time.perf_counter()
        for p in poses:
            posed = r.pose(p)
            r.frame(posed, marker_meshes(r.rest, posed, markers))
        dt = (time.perf_counter() - t0) / len(poses)
        what = f"{w}x{h}, supersample {ss}" + (", 4 markers" if markers else "")
        print(f"{what:36s} {1 / dt:6.2f} frames/s ({1000 * dt:.0f} ms a frame)")


if __name__ == "__main__":
    main()

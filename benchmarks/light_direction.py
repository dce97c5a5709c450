"""Does the key light's side bias one leg's FPPA? Rendered squats lit from the left and right.

The prototype saw each leg's FPPA bias move by about 3° when the key light moved from
the subject's left to the right. Here the same squats (3 bodies, the left knee caving in
6°, the right straight) are rendered twice, lit from 60° to either side, and analysed
with the default (flip-averaged) pose and with ``--fast`` (single pass). Printed: the
FPPA-at-peak-flexion error per leg and light, and how far it moves between the lights.

Run: ``python benchmarks/light_direction.py [--out DIR] [--workers N]`` (renders are
kept in ``DIR/renders`` and reused).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from kneevision.digital_human.clip import RenderOptions
from kneevision.digital_human.render import Lighting, PhoneCamera
from kneevision.digital_human.validate import Case, run_validation

BODIES = ("female-average", "male-average", "male-heavy")
LIGHTS = {"light from the left": -60.0, "light from the right": 60.0}
METRIC = "fppa_at_peak_flexion_deg"


def cases() -> list[Case]:
    cam = PhoneCamera(width=960, height=540, distance=3.0, height_m=0.55)
    return [
        Case(f"light-{body}-{'L' if az < 0 else 'R'}", "squat",
             {"n_reps": 2, "depth": 80.0, "valgus": {"left": 6.0, "right": 0.0}},
             RenderOptions(body=body, camera=cam, lighting=Lighting(azimuth=az)), light)
        for body in BODIES for light, az in LIGHTS.items()
    ]  # fmt: skip


def errors(folder: Path) -> dict[tuple[str, str], list[float]]:
    """(light, side) → FPPA-at-peak errors (measured − truth), degrees."""
    out: dict[tuple[str, str], list[float]] = {}
    with open(folder / "validity.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["metric"] == METRIC and r["error"]:
                out.setdefault((r["setup"], r["side"]), []).append(float(r["error"]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("light_study"))
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    renders = args.out / "renders"
    print(
        "| pose | leg | error, light from the left (median) | error, light from the right "
        "(median) | shift |"
    )
    print("|---|---|---|---|---|")
    for name, fast in (("flip-averaged (default)", False), ("single pass (--fast)", True)):
        folder = args.out / ("fast" if fast else "default")
        run_validation(folder, cases=cases(), renders_dir=renders, fast=fast,
                       workers=args.workers, reuse=True)  # fmt: skip
        e = errors(folder)
        for side in ("left", "right"):
            lo, hi = (np.median(e.get((light, side), [np.nan])) for light in LIGHTS)
            print(f"| {name} | {side} | {lo:+.1f}° | {hi:+.1f}° | {hi - lo:+.1f}° |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

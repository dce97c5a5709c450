"""How short MediaPipe's FPPA reads on renders, and the gain that undoes it (``FPPA_GAIN``).

Usage::

    python benchmarks/fppa_gain.py VALIDATION_DIR

``VALIDATION_DIR`` is the output of ``kneevision validate`` (its ``validity.csv``). No
inference: the FPPA-at-peak-flexion rows of the advised set-ups are read back, the gain
they were analysed with (:data:`kneevision.kinematics.flexion.FPPA_GAIN`) taken out, and
printed:

* per set-up, the median measured-over-true ratio (legs with a true FPPA past 5°);
* per candidate gain (1.0–1.4 in steps of 0.05), median / p95 |error| per set-up and
  over all rows;
* leave one body out: the gain with the least median error on the other bodies, and
  the left-out body's median / p95 |error| without and with it.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from common import print_figures

from kneevision.kinematics.flexion import FPPA_GAIN

METRIC = "fppa_at_peak_flexion_deg"
GAINS = np.round(np.arange(1.0, 1.401, 0.05), 2)


def rows(folder: Path) -> list[tuple[str, str, float, float]]:
    """(set-up, body, truth, raw measured) for each advised FPPA-at-peak row."""
    out = []
    with open(folder / "validity.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["metric"] != METRIC or r["advised"] != "True" or r["measured"] in ("", "nan"):
                continue
            out.append((r["setup"], r["body"], float(r["truth"]), float(r["measured"]) / FPPA_GAIN))
    return out


def errors(data: list, gain: float) -> np.ndarray:
    return np.abs(np.array([gain * m - t for _, _, t, m in data]))


def summary(e: np.ndarray) -> str:
    return f"{np.median(e):.1f} / {np.percentile(e, 95):.1f}"


def best_gain(data: list) -> float:
    return float(min(GAINS, key=lambda g: np.median(errors(data, g))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("folder", type=Path)
    args = ap.parse_args()
    data = rows(args.folder)
    setups = sorted({s for s, *_ in data})
    result: dict = {"rows": len(data), "gain_in_use": FPPA_GAIN}
    for s in setups:
        ratio = [m / t for su, _, t, m in data if su == s and abs(t) > 5]
        result[f"ratio measured/true, {s}"] = round(float(np.median(ratio)), 2) if ratio else None
    for g in GAINS:
        per = {s: summary(errors([d for d in data if d[0] == s], g)) for s in setups}
        result[f"gain {g:.2f}"] = "; ".join(f"{s} {v}" for s, v in per.items())
        result[f"gain {g:.2f}, all"] = summary(errors(data, g))
    result["best gain, all bodies"] = best_gain(data)
    for body in sorted({b for _, b, *_ in data}):
        train = [d for d in data if d[1] != body]
        test = [d for d in data if d[1] == body]
        g = best_gain(train)
        result[f"left out {body}"] = (
            f"gain {g:.2f}; {len(test)} rows; without {summary(errors(test, 1.0))}, "
            f"with {summary(errors(test, g))}"
        )
    print_figures(result)


if __name__ == "__main__":
    main()

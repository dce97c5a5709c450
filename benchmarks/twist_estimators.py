"""Seated twist: the landmark and pixel tibial rotation estimates and their scale against the truth.

Usage::

    python benchmarks/twist_estimators.py VALIDATION_DIR [--renders DIR] [--candidates]
                                          [--diagnose] [--checking NAME ...] [--new NAME ...]

``VALIDATION_DIR`` is the output of ``kneevision validate`` (``analyses/<clip>_kneevision``
with ``pose.npz`` and ``forefoot.npz``; the renders and their ``*.truth.json`` in
``VALIDATION_DIR/renders`` or ``--renders``). No inference and no tracking: each front-view
twist clip's stored landmarks and tracked toe points are read back, and per leg the
internal, external and total range of each estimate are compared with the truth, with the
protocol's own low-pass and range rules. Clips are grouped as the design set, the four
rendered to check it (``--checking``), the three rendered after the scale was chosen
(``--new``), the six held out to choose between the default and the tuned candidate
(``twist-held-*``), those two last groups together (neither estimate was tuned on them),
then all together. Besides the variants, the mean of the default's and the tuned
candidate's series is scored.

The tracked toe gives ``θ = asin(d cos β / (r · s))`` about a pivot
(:func:`kneevision.kinematics.angles.foot_turn_tracked`); a variant names where ``r``
(the foot/shank proportion), ``s`` (the shank's image length) and the pivot come from,
and whether the landmark estimate is averaged in while the toes point inward:

* ``r``: ``pooled`` (both legs' 3-D ankle→toe proportion), ``leg`` (the leg's own),
  ``geo`` (their geometric mean), ``0.41`` (one figure for everyone);
* ``s``: ``frame`` (per frame), ``median`` (the leg's, over the clip), ``still`` (over the
  still start), ``both`` (both legs' median);
* pivot: ``ankle-heel`` (the still start's ankle–heel midpoint), ``ankle``,
  ``shank-line`` (:func:`kneevision.kinematics.angles.foot_turn_pivot`).

``--diagnose`` fits, per leg, the scale and pivot the tracked toe really moved with
(``d = K sin(φ0 + Δθ_true) + c``) and the true toe's own scale (from the truth's image
points), prints them against the estimates, with the error left by the estimated scale
alone and by the estimated pivot alone, and the scales over the true toe's for the legs
nearer and farther from a camera turned round, and with the camera in front.
"""

from __future__ import annotations

import argparse
import csv
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import print_figures

from kneevision.analysis import evaluate, load_analysis, read_forefoot, stored_settings
from kneevision.kinematics.angles import foot_turn_pivot, foot_turn_tracked
from kneevision.kinematics.landmarks import SIDES, leg, other
from kneevision.kinematics.signals import fill_gaps, lowpass
from kneevision.protocols import seated_twist as st

CHECKING = (
    "twist-female-slim-tall-80",
    "twist-female-valgus-100",
    "twist-male-average-100",
    "twist-male-heavy-80",
)
NEW = ("twist-female-valgus-75", "twist-female-slim-tall-105", "twist-male-average-75")
#: Rendered (2026-12-03) after both the default and the tuned candidate were fixed, to
#: choose between them, and their mean, on clips neither was tuned on.
HELD_OUT_PREFIX = "twist-held-"


@dataclass(frozen=True)
class Variant:
    """Where the tracked estimate's scale and pivot come from (see the module docstring)."""

    ratio: str = "pooled"
    shank: str = "frame"
    pivot: str = "ankle-heel"
    blend: bool = True

    def __str__(self) -> str:
        how = "pixels and landmarks inward" if self.blend else "pixels"
        return f"r {self.ratio}, s {self.shank}, pivot {self.pivot}, {how}"


#: The protocol's estimate, and the best candidate over all clips, tuned after the design
#: and checking clips were seen (worse than the default on the three rendered later).
DEFAULT = Variant()
TUNED = Variant("leg", "median", "shank-line", False)
CANDIDATES = (
    DEFAULT,
    Variant("pooled", "frame", "ankle-heel"),
    Variant("pooled", "median", "ankle-heel"),
    Variant("pooled", "still", "ankle-heel"),
    Variant("pooled", "both", "ankle-heel"),
    Variant("leg", "frame", "ankle-heel"),
    Variant("leg", "median", "ankle-heel"),
    Variant("leg", "both", "ankle-heel"),
    Variant("geo", "median", "ankle-heel"),
    Variant("0.41", "median", "ankle-heel"),
    Variant("pooled", "median", "ankle"),
    Variant("pooled", "median", "shank-line"),
    Variant("pooled", "median", "shank-line", True),
    Variant("leg", "frame", "shank-line"),
    Variant("leg", "median", "ankle"),
    Variant("geo", "median", "shank-line"),
    Variant("0.41", "median", "shank-line"),
    Variant("leg", "median", "shank-line", True),
    TUNED,
)


@dataclass
class Leg:
    """One leg of one clip: its motion, tracked toe and true ranges."""

    clip: str
    group: str
    side: str
    motion: object
    track: st.ForefootTrack
    truth: np.ndarray
    true_toe: np.ndarray | None = None  # the toe's true image position (T, 2)
    where: str = "front"  # "near" or "far": the leg nearer or farther from a camera turned round

    @property
    def still(self) -> slice:
        return st.still_frames(self.motion.time_s)

    def true_ranges(self) -> tuple[float, float]:
        neutral = np.median(self.truth[self.motion.time_s < 1.0])
        return float(self.truth.max() - neutral), float(neutral - self.truth.min())

    def errors(self, theta: np.ndarray) -> tuple[float, float, float]:
        """IR, ER and total range error of a raw rotation series (degrees)."""
        ir, er = ranges(self.motion.time_s, theta)
        ir_t, er_t = self.true_ranges()
        return ir - ir_t, er - er_t, ir + er - ir_t - er_t


def ranges(time_s: np.ndarray, theta: np.ndarray) -> tuple[float, float]:
    """IR and ER of a raw rotation series, as the protocol reads them."""
    smooth = lowpass(time_s, fill_gaps(time_s, theta, 0.3), st.THETA_CUTOFF_HZ)
    r, *_ = st.rotation_range(time_s, smooth)
    return r["internal_rotation_deg"]["value"], r["external_rotation_deg"]["value"]


def _median(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(a, axis=0)


def scale_px(g: Leg, v: Variant) -> float | np.ndarray:
    """``r · s`` of a variant (pixels; ``s`` per frame for ``frame``)."""
    image, world = g.motion.image, g.motion.world
    shank = {s: np.linalg.norm(leg(image, s)["ankle"] - leg(image, s)["knee"], axis=-1)
             for s in SIDES}  # fmt: skip
    s = {
        "frame": shank[g.side],
        "median": _median(shank[g.side]),
        "still": _median(shank[g.side][g.still]),
        "both": _median(np.r_[shank[g.side], shank[other(g.side)]]),
    }[v.shank]
    pooled, own = st.toe_ratio(world), st.toe_ratio(world, g.side)
    r = {"pooled": pooled, "leg": own, "geo": np.sqrt(pooled * own)}.get(v.ratio)
    return (float(v.ratio) if r is None else r) * s


def pivot_px(g: Leg, v: Variant) -> np.ndarray:
    """The pivot of a variant (image point)."""
    raw = leg(g.motion.image, g.side)
    j = {k: _median(p[g.still]) for k, p in raw.items()}
    if v.pivot == "ankle-heel":  # as the protocol takes it: the median of the midpoints
        return _median(0.5 * (raw["ankle"] + raw["heel"])[g.still])
    if v.pivot == "ankle":
        return j["ankle"]
    return foot_turn_pivot(j["knee"], j["ankle"], j["toe"])


def variant_series(g: Leg, v: Variant) -> np.ndarray:
    """θ of one leg by a variant: the tracked toe where usable, the landmarks elsewhere."""
    m, still = g.motion, g.still
    j = leg(m.image, g.side)
    beta = st.elevation(m.image, m.world, g.side)
    tracked = foot_turn_tracked(g.track.toe, pivot_px(g, v), j["knee"], j["ankle"], j["hip"],
                                j["other_hip"], 1.0, beta, shank_px=scale_px(g, v))  # fmt: skip
    usable = np.isfinite(tracked) & (g.track.confidence >= st.MIN_TRACK_CONFIDENCE)
    landmarks = st.rotation_series(m.image, m.world, g.side, "front")
    both = usable[still] & np.isfinite(landmarks[still])
    t0 = float(np.median(tracked[still][both])) if both.any() else 0.0
    shift = float(np.median(tracked[still][both] - landmarks[still][both])) if both.any() else 0.0
    aligned = landmarks + shift
    if v.blend:  # the landmarks averaged in while the toes point inward (before issue #16)
        inward = (tracked > t0) & np.isfinite(aligned)
        tracked = np.where(inward, 0.5 * (tracked + aligned), tracked)
    return np.where(usable, tracked, aligned)


def load_legs(validation: Path, renders: Path, checking: list[str], new: list[str]) -> list[Leg]:
    """Every front-view twist clip's legs that have a stored analysis and tracked toes, of
    the clips filmed as advised (``clips.csv``'s ``advised``; the one from above is not)."""
    legs = []
    clips = validation / "clips.csv"
    not_advised = (
        {r["clip"] for r in csv.DictReader(clips.read_text().splitlines())
         if r["advised"] != "True"}
        if clips.is_file() else set()
    )  # fmt: skip
    for path in sorted(renders.glob("twist-*.truth.json")):
        name = path.name.removesuffix(".truth.json")
        if name in not_advised:
            continue
        folder = validation / "analyses" / f"{name}_kneevision"
        truth = json.loads(path.read_text())
        tracks = read_forefoot(folder) if folder.is_dir() else None
        if truth["view"] != "front" or not tracks:
            continue
        stored = load_analysis(folder, reevaluate=False)
        motion, _ = evaluate(stored.pose, stored_settings(stored.summary))
        if motion.view not in st.FRONT_VIEWS:
            continue
        group = (
            "held-out" if name.startswith(HELD_OUT_PREFIX)
            else "checking" if name in checking else "new" if name in new else "design"
        )  # fmt: skip
        azimuth = truth["render"]["camera"]["azimuth"]
        for side in SIDES:
            series = np.asarray(truth["series"][f"{side}_tibial_rotation_deg"], float)
            toe = np.asarray(truth["projections_px"][f"{side}_toe"], float)
            where = (
                "front" if azimuth == 0 else "near" if (azimuth > 0) == (side == "left") else "far"
            )
            legs.append(Leg(name, group, side, motion, tracks[side], series, toe, where))
    return legs


def fit_scale(g: Leg, toe: np.ndarray | None = None) -> tuple[float, float, float, float]:
    """The scale K (px), pivot offset c (px, + medial), φ0 (deg) and rms (px) the toe moved with.

    Least squares of ``d = K sin(φ0 + Δθ_true) + c`` over the usable frames, ``d`` the
    toe's offset toward the midline from the still start's ankle–heel midpoint, φ0 on a
    0.25° grid. ``toe``: another toe point than the tracked one (e.g. the true toe).
    """
    j = leg(g.motion.image, g.side)
    medial = np.sign(j["other_hip"][:, 0] - j["hip"][:, 0])
    point = g.track.toe if toe is None else toe
    d = (point[:, 0] - pivot_px(g, Variant(pivot="ankle-heel"))[0]) * medial
    ok = np.isfinite(d)
    if toe is None:
        ok &= g.track.confidence >= st.MIN_TRACK_CONFIDENCE
    turn = np.radians(g.truth - np.median(g.truth[g.motion.time_s < 1.0]))
    best = (np.inf, 0.0, 0.0, 0.0)
    for phi0 in np.radians(np.arange(-45.0, 45.01, 0.25)):
        a = np.c_[np.sin(phi0 + turn[ok]), np.ones(ok.sum())]
        (k, c), *_ = np.linalg.lstsq(a, d[ok], rcond=None)
        rss = float(np.sum((a @ (k, c) - d[ok]) ** 2))
        if rss < best[0]:
            best = (rss, k, c, np.degrees(phi0))
    rss, k, c, phi0 = best
    return k, c, phi0, float(np.sqrt(rss / ok.sum()))


def _turn(
    d: np.ndarray, scale: np.ndarray | float, usable: np.ndarray, landmarks: np.ndarray
) -> np.ndarray:
    """``asin(d / scale)`` where the track is usable, the landmark estimate elsewhere."""
    x = d / scale
    with np.errstate(invalid="ignore"):
        theta = np.degrees(np.arcsin(np.where(np.abs(x) <= 1, x, np.nan)))
    return np.where(usable & np.isfinite(theta), theta, landmarks)


def diagnose(legs: list[Leg]) -> None:
    """Per leg: the fitted scale and pivot against the estimates, and what each one costs."""
    print(
        "leg | K fit px | true toe's K px | K est/fit pooled, leg | c/K | IR/ER/total error: "
        "before | estimated scale, true pivot | true scale, estimated pivot | both true"
    )
    rows = {}
    ratios: dict[tuple[str, str], list[float]] = {}
    for g in legs:
        m = g.motion
        k, c, _, rms = fit_scale(g)
        cos_b = np.cos(np.radians(st.elevation(m.image, m.world, g.side)))
        j = leg(m.image, g.side)
        medial = np.sign(j["other_hip"][:, 0] - j["hip"][:, 0])
        d = (g.track.toe[:, 0] - pivot_px(g, Variant(pivot="ankle-heel"))[0]) * medial
        usable = np.isfinite(d) & (g.track.confidence >= st.MIN_TRACK_CONFIDENCE)
        landmarks = st.rotation_series(m.image, m.world, g.side, "front")

        est = scale_px(g, Variant("pooled", "frame")) / cos_b
        est_leg = np.nanmedian(scale_px(g, Variant("leg", "median"))) / cos_b
        e = {
            "default": g.errors(variant_series(g, DEFAULT)),
            "scale": g.errors(_turn(d - c, est, usable, landmarks)),
            "pivot": g.errors(_turn(d, k, usable, landmarks)),
            "true": g.errors(_turn(d - c, k, usable, landmarks)),
        }
        for key, err in e.items():
            rows.setdefault((g.group, key), []).append(err)
        k_toe = fit_scale(g, g.true_toe)[0]
        for what, value in (
            ("tracked", k),
            ("pooled r·s", np.nanmedian(est)),
            ("leg r·s", est_leg),
        ):
            ratios.setdefault((g.where, what), []).append(value / k_toe)
        print(
            f"{g.clip.removeprefix('twist-')} {g.side[0]} ({g.group}, {g.where}) | {k:.1f} (rms "
            f"{rms:.2f}) | {k_toe:.1f} | {np.nanmedian(est) / k:.3f}, {est_leg / k:.3f} | "
            f"{c / k:+.2f} | "
            + " | ".join("/".join(f"{x:+.1f}" for x in err) for err in e.values())
        )
    figures = {}
    for (group, key), errs in sorted(rows.items()):
        a = np.abs(np.array(errs))
        figures[f"{group}, {key}: IR / ER / total median, p95 |err| (°)"] = " ".join(
            f"{np.median(a[:, i]):.1f}/{np.percentile(a[:, i], 95):.1f}" for i in range(3)
        )
    for (where, what), r in sorted(ratios.items()):
        figures[f"{where} legs ({len(r)}): {what} scale / the true toe's, mean ± sd"] = (
            f"{np.mean(r):.3f} ± {np.std(r):.3f}"
        )
    print_figures(figures)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("validation", type=Path)
    ap.add_argument("--renders", type=Path, help="the renders (default VALIDATION/renders)")
    ap.add_argument("--checking", nargs="*", default=list(CHECKING))
    ap.add_argument("--new", nargs="*", default=list(NEW))
    ap.add_argument("--candidates", action="store_true", help="every variant, not just three")
    ap.add_argument("--diagnose", action="store_true", help="the fitted scale and pivot per leg")
    args = ap.parse_args()
    legs = load_legs(args.validation, args.renders or args.validation / "renders",
                     args.checking, args.new)  # fmt: skip
    if args.diagnose:
        diagnose(legs)
        return
    errors: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    variants = CANDIDATES if args.candidates else (DEFAULT, TUNED)
    for g in legs:
        estimates = {"landmarks only": st.rotation_series(g.motion.image, g.motion.world,
                                                          g.side, "front")}  # fmt: skip
        estimates |= {str(v) + (" (default)" if v == DEFAULT else " (tuned)" if v == TUNED
                                else ""): variant_series(g, v) for v in variants}  # fmt: skip
        default = st.rotation_series(g.motion.image, g.motion.world, g.side, "front",
                                     track=g.track, still=g.still)  # fmt: skip
        assert np.allclose(default, estimates[str(DEFAULT) + " (default)"], equal_nan=True)
        estimates["mean of default and tuned"] = 0.5 * (default + variant_series(g, TUNED))
        untuned = ("untuned (new + held-out)",) if g.group in ("new", "held-out") else ()
        for how, theta in estimates.items():
            for group in (g.group, *untuned, "all"):
                errors.setdefault((group, how), []).append(g.errors(theta))
    figures: dict[str, object] = {}
    order = {"design": 0, "checking": 1, "new": 2, "held-out": 3, "untuned (new + held-out)": 4,
             "all": 5}  # fmt: skip
    for (group, how), rows in sorted(errors.items(), key=lambda kv: order[kv[0][0]]):
        e = np.abs(np.array(rows))
        figures[f"{group} ({len(e)} legs), {how}: IR / ER / total median/p95 |err| (°)"] = " ".join(
            f"{np.median(e[:, k]):.1f}/{np.percentile(e[:, k], 95):.1f}" for k in range(3)
        )
    print_figures(figures)


if __name__ == "__main__":
    main()

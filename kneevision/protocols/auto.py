"""Pick the protocol from the motion itself (``--protocol auto``).

Decision, in order, each step recorded as a reason in ``summary.json``:

1. **Seated** — thighs near horizontal (≥ 55° from vertical in the 3-D
   landmarks) in three quarters of the frames → ``seated-twist``. The landmarks'
   vertical is the camera's, so a camera looking down tilts it; both knees bent
   ≥ 50° (the 3-D angle, whatever the camera's tilt) in three quarters of the frames
   where both are seen counts as seated too.
2. **Repetitions** of the hips (see :func:`kneevision.protocols.squat.find_reps`).
3. With repetitions: knees at clearly different heights at the bottoms (≥ 15 cm)
   with the low knee switching legs from one bottom to the next → ``lunge``
   (alternating lunges lift each foot in turn, which alone looks single-leg); one
   foot lifted in half the frames → ``single-leg-squat``; knees at clearly different
   heights at the bottoms → ``lunge``; seen from the front, one foot lifted in half the
   frames *in the picture* → ``single-leg-squat`` (the 3-D feet of a body whose legs'
   labels the model swapped can sit at one height); otherwise ``squat``.
4. Without: one foot lifted in at least 30 % of the frames → ``balance``;
   otherwise ``squat`` (flagged: no repetitions).

The ankle (knee-to-wall) test and step-downs look like lunges and single-leg
squats: choose them with ``--protocol``.
"""

from __future__ import annotations

import numpy as np

from kneevision.kinematics.angles import angle_between, knee_flexion
from kneevision.kinematics.landmarks import JOINTS, SIDES, leg
from kneevision.protocols.base import Motion
from kneevision.protocols.single_leg import image_stance_share, stance_share
from kneevision.protocols.squat import find_reps

SEATED_THIGH_DEG = 55.0
#: A one-off look at 51 renders' landmarks: both knees bent this far in 100% of every
#: seated twist's frames (filmed from 45° above too, whose thighs' tilt read 0%), 0–26% of
#: every standing clip's.
SEATED_KNEE_DEG = 50.0
SEATED_SHARE = 0.75
#: The knee rule needs both knees in this share of the frames (a bent near knee alone,
#: e.g. a balance seen side-on with the stance leg hidden, is not a seat).
SEATED_BOTH_SEEN = 0.5
LUNGE_KNEE_GAP_M = 0.15


def thigh_inclination(world: np.ndarray) -> np.ndarray:
    """Angle of each thigh from the world vertical (deg), shape (2, T)."""
    down = np.array([0.0, 1.0, 0.0])
    return np.stack(
        [
            angle_between(world[:, k] - world[:, h], np.broadcast_to(down, world[:, h].shape))
            for h, k in ((23, 25), (24, 26))
        ]
    )


def both_knees_bent_share(world: np.ndarray) -> tuple[float, float]:
    """Share of the frames with both knees seen whose 3-D flexion is ≥ ``SEATED_KNEE_DEG``.

    Returns
    -------
    (float, float)
        That share, and the share of all frames where both knees are seen (a side view
        often hides one leg: see ``SEATED_BOTH_SEEN``).
    """
    joints = [leg(world, side) for side in SIDES]
    flex = np.stack([knee_flexion(j["hip"], j["knee"], j["ankle"]) for j in joints])
    both = np.isfinite(flex).all(axis=0)
    if not both.any():
        return 0.0, 0.0
    return float((flex[:, both].min(axis=0) >= SEATED_KNEE_DEG).mean()), float(both.mean())


def alternations(diff: np.ndarray) -> tuple[int, int] | None:
    """How often the lower knee switches legs between consecutive bottoms.

    Parameters
    ----------
    diff : ndarray
        Per bottom, left minus right knee height in world y (down), metres.

    Returns
    -------
    (int, int) or None
        ``(switches, chances)`` when the low knee is clearly on one side
        (≥ ``LUNGE_KNEE_GAP_M``) at three or more bottoms and switches at every
        other one at least; ``None`` otherwise (a single-leg set keeps one side).
    """
    clear = diff[np.isfinite(diff) & (np.abs(diff) >= LUNGE_KNEE_GAP_M)]
    if clear.size < 3:
        return None
    chances = clear.size - 1
    switches = int((np.diff(np.sign(clear)) != 0).sum())
    return (switches, chances) if switches >= 0.5 * chances else None


def detect(motion: Motion) -> tuple[str, list[str]]:
    """The protocol that fits the motion, and why."""
    reasons: list[str] = []
    incl = thigh_inclination(motion.world)
    # Either thigh will do: from the side the far one is often hidden on every frame.
    ok = np.isfinite(incl).any(axis=0)
    if ok.any():
        seated_share = float((np.nanmin(incl[:, ok], axis=0) >= SEATED_THIGH_DEG).mean())
        if seated_share >= SEATED_SHARE:
            reasons.append(f"thighs near horizontal in {100 * seated_share:.0f}% of frames: seated")
            return "seated-twist", reasons
        bent, seen = both_knees_bent_share(motion.world)
        if bent >= SEATED_SHARE and seen >= SEATED_BOTH_SEEN:
            reasons.append(
                f"thighs near horizontal in only {100 * seated_share:.0f}% of frames, but both "
                f"knees bent {SEATED_KNEE_DEG:.0f}° or more in {100 * bent:.0f}%: seated, the "
                "camera looking down on the legs"
            )
            return "seated-twist", reasons
        reasons.append(
            f"thighs near horizontal in only {100 * seated_share:.0f}% of frames: standing"
        )
    reps = find_reps(motion)
    if reps:
        reasons.append(f"{len(reps)} repetition(s) of the hips going down and up")
        bottoms = np.array([r.bottom for r in reps])
        # World y points down: positive = left knee lower than the right.
        knee = JOINTS["knee"]
        diff = motion.world[bottoms, knee["left"], 1] - motion.world[bottoms, knee["right"], 1]
        gap = np.abs(diff)
        gap_m = float(np.nanmedian(gap)) if np.isfinite(gap).any() else 0.0
        switches = alternations(diff)
        if gap_m >= LUNGE_KNEE_GAP_M and switches is not None:
            reasons.append(
                f"knees {100 * gap_m:.0f} cm apart in height at the bottoms, the low knee "
                f"switching legs {switches[0]} of {switches[1]} times: alternating lunges"
            )
            return "lunge", reasons
        share = stance_share(motion)
        if share >= 0.5:
            reasons.append(f"one foot off the floor in {100 * share:.0f}% of frames: single-leg")
            return "single-leg-squat", reasons
        if gap_m >= LUNGE_KNEE_GAP_M:
            reasons.append(f"knees {100 * gap_m:.0f} cm apart in height at the bottoms: a lunge")
            return "lunge", reasons
        if motion.view == "front" and (pictured := image_stance_share(motion)) >= 0.5:
            # The 3-D feet can sit at one height where the model swapped the legs' labels on
            # many frames (a rendered single-leg squat: one foot lifted in 14% of frames).
            reasons.append(
                f"one foot off the floor in {100 * share:.0f}% of frames in 3-D but in "
                f"{100 * pictured:.0f}% in the picture, knees level at the bottoms "
                f"({100 * gap_m:.0f} cm apart): single-leg"
            )
            return "single-leg-squat", reasons
        reasons.append(f"knees level at the bottoms ({100 * gap_m:.0f} cm apart): a squat")
        return "squat", reasons
    share = stance_share(motion)
    if share >= 0.3:
        reasons.append(f"no repetitions; one foot lifted in {100 * share:.0f}% of frames: balance")
        return "balance", reasons
    reasons.append("no repetitions and both feet down: analysed as a squat")
    return "squat", reasons

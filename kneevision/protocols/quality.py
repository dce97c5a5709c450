"""Quality flags: what went wrong in the filming, in words a patient understands.

Every flag has a code (stable, for programs), a message (what was seen, with
numbers) and advice (how to film better next time).
"""

from __future__ import annotations

import numpy as np

from kneevision.kinematics.landmarks import leg
from kneevision.kinematics.signals import valid_runs
from kneevision.protocols.base import FPPA_PLAUSIBLE_DEG, Motion

#: The seated twist test's camera placement: where its estimate measured best on renders
#: (``kneevision validate``); the advice, the live guide and the report say it.
TWIST_SETUP = "phone upright at knee height, level, about 2 m in front, both feet in view"

#: How to film better when a flag is raised.
ADVICE: dict[str, str] = {
    "few_pose_frames": "Keep the whole body in the picture, in good light, for the whole clip.",
    "low_visibility": "Film in even light (not against a window or the sun), with hips, knees, "
    "ankles and feet uncovered and in view.",
    "oblique_view": "Put the camera square to the body: straight in front to see the knees cave "
    "in, exactly side-on to see depth.",
    "wrong_view": "Film this test from the view it needs (see the message).",
    "out_of_frame": "Step back or hold the phone upright so the body stays inside the picture "
    "from head to toes.",
    "multiple_people": "Film one person at a time, with nobody else in the picture.",
    "tracking_jump": "Film one person at a time, with nobody else in the picture.",
    "low_frame_rate": "Film at 30 frames per second or more (60 for jumps and landings), "
    "or move more slowly.",
    "mirrored_suspected": "If the video comes from a front (selfie) camera or was mirrored, "
    "run again with --mirrored; otherwise check which leg is which on the overlay video.",
    "no_reps": "Do at least three slow, full repetitions, standing tall for a moment between them.",
    "fppa_depth": "Knee cave-in (FPPA) is read while the thigh is still seen from the front; "
    "for it, film single-leg squats or squat to about 60° of knee bend.",
    "fppa_slant": "Put the camera straight in front of the body at knee height, the toes "
    "pointing at it; FPPA needs the knee to bend toward the camera (a sideways lunge bends it "
    "across the picture, which is not cave-in).",
    "knee_angle_off": "Sit on a chair high enough that the knee is bent at a right angle, "
    "foot flat on the floor.",
    "leg_moved": "Keep the thigh still on the chair and turn only the lower leg, "
    "moving the foot around the heel.",
    "not_twist_test": "For the seated twist test, sit with the knee bent at a right angle, "
    "keep it bent, and turn only the lower leg in and out.",
    "twist_view": f"Film the twist test from the front: {TWIST_SETUP}.",
    "camera_high": f"Lower the phone to knee height for the twist test: {TWIST_SETUP}.",
    "no_still_start": "Hold the foot still, pointing straight ahead, for two seconds before "
    "twisting.",
    "side_missing": "Test both legs (in one clip or one clip per leg) to compare them.",
    "no_single_leg": "Lift one foot clearly off the floor and hold it there.",
    "hold_until_end": "Keep filming until the lifted foot touches down.",
    "same_leg_twice": "Film one clip per leg: the left leg in one, the right leg in the other.",
    "no_person_long": "Stay in the picture for the whole clip.",
    "pose_side_on": "Face the camera squarely, legs uncovered, in even light.",
    "leg_swap_suspected": "Film from the side or at an angle so the legs do not cross in the "
    "picture, or test one leg per clip.",
    "turned_upright": "Nothing to film again; if the overlay looks turned, export the clip "
    "from the phone's own gallery, which keeps the rotation.",
    "video_damaged": "Copy or export the original clip from the phone again: this file is "
    "incomplete or damaged.",
    "markers_not_found": "Print the markers with 'kneevision markers print', tape them as the "
    "sheet shows, and give the printed size with --marker-size-mm.",
    "markers_small": "Film closer, in 4K, or print larger markers (kneevision markers print "
    "--size-mm 50).",
    "markers_hidden": "Keep both markers flat and uncovered; film from about 1 m high, "
    "0.8 m in front of the knees, looking down: seated, the thigh marker faces the ceiling "
    "and is edge-on from knee height.",
}


def flag(code: str, message: str) -> dict:
    """A quality flag with its advice."""
    return {"code": code, "message": message, "advice": ADVICE.get(code, "")}


LEG_LANDMARKS = list(range(23, 33))


def fppa_unread_flags(motion: Motion, unread: list[tuple[str, int]]) -> list[dict]:
    """Why FPPA is missing at some leg-repetitions: ``fppa_slant`` or ``fppa_depth``.

    Parameters
    ----------
    motion : Motion
    unread : list of (side, frame)
        Each leg-repetition without FPPA at peak flexion, with that frame. Past
        :data:`~kneevision.protocols.base.FPPA_PLAUSIBLE_DEG` there it is a bend seen
        at a slant (:meth:`~kneevision.protocols.base.Motion.rep_fppa`); otherwise the
        thigh pointed at the camera.
    """
    slanted = [(s, i) for s, i in unread if motion.fppa_slanted[s][i]]
    depth = len(unread) - len(slanted)
    flags = []
    if depth:
        flags.append(
            flag(
                "fppa_depth",
                f"at the bottom of {depth} leg-repetition(s) the thigh pointed at the camera, "
                "so FPPA could not be read there",
            )
        )
    if slanted:
        worst = max(abs(float(motion.angles[f"{s}_fppa_deg"][i])) for s, i in slanted)
        flags.append(
            flag(
                "fppa_slant",
                f"in {len(slanted)} leg-repetition(s) the knee's angle in the picture read up "
                f"to {worst:.0f}°, past any cave-in or bowing out ({FPPA_PLAUSIBLE_DEG:.0f}°): "
                "the bend was seen at a slant, so FPPA and the knee's sideways displacement "
                "are not given there",
            )
        )
    return flags


def facing_flip_flag(motion: Motion, consequence: str) -> dict | None:
    """``leg_swap_suspected`` where the model relabelled a front-view body (else None).

    :func:`~kneevision.kinematics.series.facing_flips` on the raw landmarks; the
    message ends with ``consequence`` (what that does to the protocol's figures).
    """
    flipped = motion.flipped
    if not flipped.any():
        return None
    return flag(
        "leg_swap_suspected",
        f"on {int(flipped.sum())} of {len(motion)} frames the pose model took the body for "
        f"its back and exchanged every left and right label{consequence}",
    )


def common_flags(motion: Motion) -> list[dict]:
    """Flags every protocol checks: pose found, visibility, people, framing, frame rate."""
    flags = []
    n = max(len(motion), 1)
    has = motion.has_pose
    share = float(has.sum()) / n
    if share < 0.8:
        flags.append(
            flag("few_pose_frames", f"a person was found in only {100 * share:.0f}% of the frames")
        )
    many = int((motion.people > 1).sum())
    if many or motion.facts.get("multi_person_tracking"):
        flags.append(
            flag(
                "multiple_people",
                f"more than one person was in view ({many} frames); the person first "
                "followed was analysed, but the numbers may mix people",
            )
        )
    if motion.facts.get("person_jumps"):
        flags.append(
            flag(
                "tracking_jump",
                f"the tracked body jumped {motion.facts['person_jumps']} time(s) between frames; "
                "the tracker may have switched people",
            )
        )
    if has.any():
        vis = float(np.nanmean(motion.visibility[has][:, LEG_LANDMARKS]))
        if vis < 0.6:
            flags.append(
                flag(
                    "low_visibility",
                    f"hips, knees, ankles and feet were hard to see (mean visibility {vis:.2f} "
                    "of 1); backlight, darkness or clothing can cause this",
                )
            )
    if motion.side_on is not None:
        side_on = int((motion.side_on & has).sum())
        if side_on:
            flags.append(
                flag(
                    "pose_side_on",
                    f"on {side_on} of {n} frames the pose model took the body for side-on "
                    "(its hips drawn together), so knee flexion and FPPA are not given there",
                )
            )
    out = out_of_frame_share(motion)
    if out > 0.05:
        flags.append(
            flag(
                "out_of_frame",
                f"part of the legs was outside the picture in {100 * out:.0f}% of the frames "
                "with a person",
            )
        )
    left_at = left_frame_at(motion)
    if left_at is not None:
        flags.append(
            flag(
                "out_of_frame",
                f"the person left the picture at {left_at:.1f} s; the rest of the clip "
                "is not analysed",
            )
        )
    if 0 < motion.fps < 24:
        flags.append(
            flag(
                "low_frame_rate", f"frame rate {motion.fps:.0f} fps is low (30 fps or more advised)"
            )
        )
    flags += input_flags(motion.facts)
    handed = handedness(motion.world)
    if np.isfinite(handed) and handed < 0:
        flags.append(
            flag(
                "mirrored_suspected",
                "left and right look swapped: the body's left–right axis is reversed "
                "(a mirrored video, or the model confused the legs)",
            )
        )
    return flags


def input_flags(facts: dict) -> list[dict]:
    """Flags about the file itself: turned upright, or damaged where decoding failed.

    ``facts`` carries ``upright_turn`` (degrees clockwise) and ``decoding``
    (:func:`kneevision.video.source.check_decoding`) when the analysis set them.
    """
    flags = []
    turn = facts.get("upright_turn") or 0
    if turn:
        how = "upside down" if turn == 180 else "sideways"
        flags.append(
            flag(
                "turned_upright",
                f"the frames were stored {how} without a rotation tag that says so; they "
                f"were turned {turn}° clockwise so that the body stands upright",
            )
        )
    dec = facts.get("decoding") or {}
    problems = []
    if dec.get("failed_at_s") is not None:
        problems.append(
            f"decoding failed at {dec['failed_at_s']:.1f} s (the file declares "
            f"{dec['frames_declared']} frames, {dec['frames_decoded']} decoded); only the "
            "part before it was analysed"
        )
    if dec.get("gaps") and (
        dec.get("damaged") or dec.get("frames_decoded", 0) < dec.get("frames_declared", 0)
    ):
        spans = ", ".join(f"{a:.1f}–{b:.1f} s" for a, b in dec["gaps"])
        problems.append(f"frames could not be decoded between {spans}")
    if dec.get("damaged") and not problems:
        problems.append(
            f"FFmpeg reported errors reading it ({dec['errors'][0]}), though the decoded "
            "frames cover the whole clip"
        )
    if problems:
        flags.append(flag("video_damaged", "the video file is damaged: " + "; ".join(problems)))
    return flags


def legs_in_picture(motion: Motion, margin: float = 0.005) -> np.ndarray:
    """Per frame: 1 when every leg landmark lies inside the picture, else 0.

    Inside by ``margin`` of the picture's size; 0 when one lies outside or on the
    edge, NaN without a pose.
    """
    raw = motion.raw_image[:, LEG_LANDMARKS]
    mx, my = margin * motion.width, margin * motion.height
    x, y = raw[..., 0], raw[..., 1]
    with np.errstate(invalid="ignore"):
        inside = ((x > mx) & (x < motion.width - mx) & (y > my) & (y < motion.height - my)).all(1)
    return np.where(np.isfinite(x).any(axis=1), inside.astype(float), np.nan)


def left_frame_at(motion: Motion, min_s: float = 0.3) -> float | None:
    """When the person walked out of the picture for the end of the clip (≥ ``min_s``)."""
    inside = legs_in_picture(motion) == 1
    t = motion.time_s
    # A flicker of re-detection (under 0.2 s) does not count as being back in view.
    stays = [(a, b) for a, b in valid_runs(inside) if t[b - 1] - t[a] >= 0.2]
    if not stays or stays[-1][1] == len(t):
        return None
    last = stays[-1][1]
    return float(t[last]) if t[-1] - t[last] >= min_s else None


def out_of_frame_share(motion: Motion) -> float:
    """Share of pose frames where a leg landmark lies outside (or on the edge of) the image."""
    inside = legs_in_picture(motion)
    seen = inside[np.isfinite(inside)]
    return float((seen == 0).mean()) if seen.size else 0.0


def handedness(world: np.ndarray) -> float:
    """Median sign of the body's left × up · forward in world landmarks.

    +1 for a body whose labelled left is on its left, −1 when left and right are
    swapped relative to where the feet point (forward = heel → toe, up = hip →
    shoulder). NaN without the landmarks.
    """
    left, right = leg(world, "left"), leg(world, "right")
    lh, rh, ls, rs = left["hip"], right["hip"], left["shoulder"], right["shoulder"]
    heel = (left["heel"] + right["heel"]) / 2
    toe = (left["toe"] + right["toe"]) / 2
    left = lh - rh
    up = (ls + rs) / 2 - (lh + rh) / 2
    forward = toe - heel
    s = np.einsum("ij,ij->i", np.cross(left, up), forward)
    s = s[np.isfinite(s)]
    return float(np.median(np.sign(s))) if s.size else float("nan")

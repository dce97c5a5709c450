"""Clinical protocols: per-frame angles → the findings a therapist writes down.

Each protocol is a function ``(Motion, Options) → Result``; :func:`run` picks it
by name (or detects it with ``"auto"``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from kneevision.protocols import lunge, seated_twist, single_leg, squat
from kneevision.protocols.auto import detect
from kneevision.protocols.base import Motion, Options, Result, prepare

Protocol = Callable[[Motion, Options], Result]

PROTOCOLS: dict[str, Protocol] = {
    "seated-twist": seated_twist.analyze,
    "squat": squat.analyze,
    "single-leg-squat": single_leg.analyze_squat,
    "step-down": partial(single_leg.analyze_squat, name="step-down"),
    "balance": single_leg.analyze_balance,
    "lunge": lunge.analyze,
    "ankle": lunge.analyze_ankle,
}
CHOICES = ("auto", *PROTOCOLS)


def run(name: str, motion: Motion, options: Options | None = None) -> Result:
    """Run a protocol by name (``auto`` detects it) and record how it was chosen."""
    options = options or Options()
    if name == "auto":
        chosen, reasons = detect(motion)
        detection = {"requested": "auto", "chosen": chosen, "reasons": reasons}
    else:
        if name not in PROTOCOLS:
            raise ValueError(f"unknown protocol {name!r}; choose from {', '.join(CHOICES)}")
        chosen, detection = (
            name,
            {"requested": name, "chosen": name, "reasons": ["chosen by the user"]},
        )
    result = PROTOCOLS[chosen](motion, options)
    result.detection = {**detection, "view": motion.view}
    return result


__all__ = ["CHOICES", "PROTOCOLS", "Motion", "Options", "Result", "prepare", "run"]

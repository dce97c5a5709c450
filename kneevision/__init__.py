"""KneeVision: knee rotation and valgus measured from ordinary video.

The Python API (:mod:`kneevision.api`)::

    import kneevision

    a = kneevision.analyze("squat.mp4", model="lite")   # writes squat_kneevision/
    a.summary.protocol, a.summary.side("left").value("peak_knee_flexion_deg")
    a.angles["left_knee_flexion_deg"], a.reps["peak_fppa_deg"], a.pose
    a.report()                                           # report.html, report.pdf
    b = kneevision.load("squat_kneevision")              # the same, from the folder

Importing the package is cheap: the API is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from kneevision.api import Analysis, Table, analyze, evaluate, load, sample_clip
    from kneevision.settings import Settings
    from kneevision.summary import Summary

_LAZY = {
    "analyze": "kneevision.api",
    "load": "kneevision.api",
    "Analysis": "kneevision.api",
    "Table": "kneevision.api",
    "evaluate": "kneevision.api",
    "sample_clip": "kneevision.api",
    "Settings": "kneevision.settings",
    "Summary": "kneevision.summary",
}
__all__ = [
    "Analysis",
    "Settings",
    "Summary",
    "Table",
    "__version__",
    "analyze",
    "evaluate",
    "load",
    "sample_clip",
]


def __getattr__(name: str) -> object:
    # Lazy: `kneevision --version` and the light modules do not load MediaPipe.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kneevision' has no attribute {name!r}")

"""A digital human: rendered video of the CC0 MakeHuman body with exactly known angles.

The renderer poses the body with exact joint angles (:mod:`.body`), films it like a
phone (:mod:`.render`, :mod:`.raster`), and writes the truth beside each clip,
measured on the posed skeleton with KneeVision's own definitions (:mod:`.truth`).
:mod:`.scenes` scripts each protocol's movement; :mod:`.validate` turns rendered
clips into the validity table that every reported error comes from.
"""

from kneevision.digital_human.body import BODIES, ArmPose, BodyShape, LegPose, Pose
from kneevision.digital_human.clip import RenderOptions, render_scene
from kneevision.digital_human.render import Lighting, Look, PhoneCamera, Renderer
from kneevision.digital_human.scenes import SCENES, Scene

__all__ = [
    "BODIES",
    "SCENES",
    "ArmPose",
    "BodyShape",
    "LegPose",
    "Lighting",
    "Look",
    "PhoneCamera",
    "Pose",
    "RenderOptions",
    "Renderer",
    "Scene",
    "render_scene",
]

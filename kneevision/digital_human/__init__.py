"""A digital human: rendered video of the CC0 MakeHuman body with exactly known angles.

The renderer poses the body with exact joint angles (:mod:`.body`), films it like a
phone (:mod:`.render`, :mod:`.raster`), and writes the truth beside each clip,
measured on the posed skeleton with KneeVision's own definitions (:mod:`.truth`).
:mod:`.scenes` scripts each protocol's movement; :mod:`.validate` turns rendered
clips into the validity table that every reported error comes from.
"""

#: Where each name lives: loaded on first use (PEP 562), so that the CLI, which imports
#: this package's ``cli`` module to build its parser, does not load the renderer.
_HOMES = {
    "BODIES": "body",
    "ArmPose": "body",
    "BodyShape": "body",
    "LegPose": "body",
    "Pose": "body",
    "RenderOptions": "clip",
    "render_scene": "clip",
    "Lighting": "render",
    "Look": "render",
    "PhoneCamera": "render",
    "Renderer": "render",
    "SCENES": "scenes",
    "Scene": "scenes",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> object:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

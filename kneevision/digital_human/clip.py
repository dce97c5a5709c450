"""Write a rendered scene as a phone-like H.264 clip with its truth beside it.

``<clip>.mp4`` and ``<clip>.truth.json`` (schema below) are written to temporary
names and renamed when complete, so a stopped render leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kneevision.digital_human.body import BODIES, BodyShape, PosedBody, blend, pose_body
from kneevision.digital_human.markers import marker_meshes
from kneevision.digital_human.render import Lighting, Look, PhoneCamera, Renderer
from kneevision.digital_human.scenes import Scene
from kneevision.digital_human.truth import projections, truth_series, world_points
from kneevision.video.writer import VideoWriter

#: 2: adds ``world_m``, the true 3-D joints (for segment swing and foot lift).
TRUTH_SCHEMA = 2


@dataclass(frozen=True)
class RenderOptions:
    """How a scene is filmed.

    Attributes
    ----------
    body : str
        A name in :data:`~kneevision.digital_human.body.BODIES`.
    camera, lighting, look : dataclasses
    supersample : int
        Subpixels per pixel side (anti-aliasing; 2 is enough for the body, markers
        want 3–4).
    motion_blur : int
        Sub-frame poses averaged over the exposure (1 = none).
    shutter : float
        Exposure as a fraction of the frame interval (with ``motion_blur``).
    markers_mm : float or None
        Print size of ArUco markers on shins and thighs (None: no markers).
    crf : int
        H.264 quality (phones record at about 18–23).
    seed : int
        Sensor noise seed.
    """

    body: str = "female-average"
    camera: PhoneCamera = field(default_factory=PhoneCamera)
    lighting: Lighting = field(default_factory=Lighting)
    look: Look = field(default_factory=Look)
    supersample: int = 2
    motion_blur: int = 1
    shutter: float = 0.5
    markers_mm: float | None = None
    crf: int = 20
    seed: int = 0

    @property
    def shape(self) -> BodyShape:
        """The body shape named by :attr:`body`."""
        if self.body not in BODIES:
            raise ValueError(f"unknown body {self.body!r}; choose from {', '.join(BODIES)}")
        return BODIES[self.body]


def _view_name(azimuth: float) -> str:
    a = abs((azimuth + 180) % 360 - 180)
    return "front" if a <= 20 else "side" if 70 <= a <= 110 else "oblique"


def render_scene(
    scene: Scene,
    out: str | Path,
    options: RenderOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, Path]:
    """Render ``scene`` to ``out`` (an .mp4) and write ``<stem>.truth.json`` beside it.

    Returns
    -------
    (Path, Path)
        The clip and its truth file.
    """
    opt = options or RenderOptions()
    out = Path(out)
    truth_path = out.with_suffix(".truth.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    r = Renderer(opt.shape, opt.camera, opt.lighting, opt.look, opt.supersample, seed=opt.seed)
    props = scene.props(r.rest, scene.poses[0]) if scene.props else ()
    posed = [pose_body(r.rest, p) for p in scene.poses]
    tmp_video = out.with_name(f".{out.stem}.partial.mp4")
    tmp_truth = truth_path.with_name(f".{truth_path.name}.partial")
    t0 = time.perf_counter()
    try:
        with VideoWriter(tmp_video, scene.fps, (opt.camera.width, opt.camera.height),
                         preset="medium", crf=opt.crf, threads=None) as writer:  # fmt: skip
            for i, p in enumerate(posed):
                frames = [p]
                if opt.motion_blur > 1:
                    frames = _exposure(scene, r, i, opt)
                extras = props + marker_meshes(r.rest, p, opt.markers_mm)
                writer.write(r.frame(frames, extras))
                if progress:
                    progress(i + 1, len(posed))
        seconds = time.perf_counter() - t0
        truth = build_truth(scene, r, posed, opt, seconds)
        tmp_truth.write_text(json.dumps(truth, indent=1))
        os.replace(tmp_video, out)
        os.replace(tmp_truth, truth_path)
    finally:
        for p in (tmp_video, tmp_truth):
            p.unlink(missing_ok=True)
    return out, truth_path


def refresh_truth(scene: Scene, out: str | Path, options: RenderOptions | None = None) -> Path:
    """Rewrite ``<stem>.truth.json`` of an already rendered clip (the pixels stay).

    The truth is cheap (posing, no raster), the pixels are not: a newer truth schema
    need not re-render. The old file's render time is kept.
    """
    opt = options or RenderOptions()
    truth_path = Path(out).with_suffix(".truth.json")
    old = json.loads(truth_path.read_text())
    r = Renderer(opt.shape, opt.camera, opt.lighting, opt.look, opt.supersample, seed=opt.seed)
    posed = [pose_body(r.rest, p) for p in scene.poses]
    truth = build_truth(scene, r, posed, opt, float(old["render"]["seconds"]))
    tmp = truth_path.with_name(f".{truth_path.name}.partial")
    tmp.write_text(json.dumps(truth, indent=1))
    os.replace(tmp, truth_path)
    return truth_path


def _exposure(scene: Scene, r: Renderer, i: int, opt: RenderOptions) -> list[PosedBody]:
    """Poses across frame ``i``'s exposure (centred on it), blended from its neighbours."""
    out = []
    last = len(scene.poses) - 1
    for k in range(opt.motion_blur):
        a = (k / (opt.motion_blur - 1) - 0.5) * opt.shutter  # frames, −½ … +½ shutter
        j = min(max(i + (1 if a > 0 else -1), 0), last)
        out.append(pose_body(r.rest, blend(scene.poses[i], scene.poses[j], abs(a))))
    return out


def build_truth(scene: Scene, r: Renderer, posed: list, opt: RenderOptions, seconds: float) -> dict:
    """The ``truth.json`` content (schema :data:`TRUTH_SCHEMA`)."""
    series = truth_series(posed, r.cam)
    proj = projections(posed, r.cam)
    return {
        "schema": TRUTH_SCHEMA,
        "scene": scene.name,
        "protocol": scene.protocol,
        "view": _view_name(opt.camera.azimuth),
        "fps": scene.fps,
        "frames": len(posed),
        "reps": scene.reps,
        "params": scene.params,
        "render": {
            "body": opt.body,
            "shape": asdict(opt.shape),
            "camera": asdict(opt.camera),
            "focal_px": opt.camera.focal_px,
            "camera_position_m": r.cam.position.tolist(),
            "camera_rotation": r.cam.rotation.tolist(),
            "lighting": asdict(opt.lighting),
            "look": asdict(opt.look),
            "supersample": opt.supersample,
            "motion_blur": opt.motion_blur,
            "markers_mm": opt.markers_mm,
            "crf": opt.crf,
            "seed": opt.seed,
            "seconds": round(seconds, 2),
            "frames_per_s": round(len(posed) / seconds, 3) if seconds > 0 else None,
        },
        "series": {k: _list(v) for k, v in series.items()},
        "projections_px": {k: np.round(v, 3).tolist() for k, v in proj.items()},
        "world_m": {k: np.round(v, 5).tolist() for k, v in world_points(posed).items()},
    }


def _list(v: np.ndarray) -> list:
    return [None if not np.isfinite(x) else round(float(x), 4) for x in v]

"""``kneevision render`` and ``kneevision validate``: rendered clips with known truth."""

from __future__ import annotations

import argparse
import inspect
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from kneevision.errors import KneeVisionError

if TYPE_CHECKING:  # the renderer loads on use: `kneevision --help` stays quick
    from kneevision.digital_human.render import Look

EXIT_OK = 0


def _parse_kv(text: str | None, cls: type, what: str) -> dict:
    """``"distance=2.5,azimuth=15"`` → checked keyword arguments for dataclass ``cls``."""
    if not text:
        return {}
    known = {f.name: f for f in fields(cls)}
    out: dict = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in known:
            raise KneeVisionError(
                f"bad --{what} item {item!r}: use NAME=VALUE with NAME one of {', '.join(known)}"
            )
        if value.startswith("#"):  # a colour (Look's fields are BGR in 0–1)
            out[key] = _colour(value, what, item)
            continue
        try:
            out[key] = None if value.lower() == "none" else type(_default(known[key]))(value)
        except (TypeError, ValueError):
            raise KneeVisionError(
                f"bad --{what} value {item!r}: not a number (colours: #RRGGBB)"
            ) from None
    return out


def _colour(value: str, what: str, item: str) -> tuple[float, float, float]:
    """``#RRGGBB`` (as web pages write colours) → BGR in 0–1, as the renderer takes them."""
    try:
        r, g, b = (int(value[i : i + 2], 16) / 255 for i in (1, 3, 5))
    except ValueError:
        raise KneeVisionError(f"bad --{what} colour {item!r}: use #RRGGBB") from None
    if len(value) != 7:
        raise KneeVisionError(f"bad --{what} colour {item!r}: use #RRGGBB")
    return (b, g, r)


def _default(f) -> object:
    value = f.default if f.default is not f.default_factory else f.default_factory()  # type: ignore[misc]
    return 0.0 if value is None or isinstance(value, tuple) else value


def _scene_kwargs(name: str, text: str | None) -> dict:
    """``--param depth=80,n_reps=3`` for the scene function, checked against its signature."""
    from kneevision.digital_human.scenes import SCENES

    if not text:
        return {}
    fn = SCENES[name]
    sig = inspect.signature(fn)
    out: dict = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or (sig.parameters and key not in sig.parameters and name != "step-down"):
            raise KneeVisionError(
                f"bad --param item {item!r} for {name}: parameters are "
                f"{', '.join(p for p in sig.parameters if p != 'rest')}"
            )
        try:
            out[key] = float(value) if value.replace(".", "", 1).lstrip("-").isdigit() else value
        except ValueError:
            out[key] = value
        if key in ("n_reps", "cycles"):
            out[key] = int(out[key])
    return out


def _look(text: str | None) -> Look:
    from kneevision.digital_human.render import Look

    try:
        return Look(**_parse_kv(text, Look, "look"))
    except ValueError as e:  # e.g. an unknown floor
        raise KneeVisionError(f"bad --look: {e}") from None


def cmd_render(args: argparse.Namespace) -> int:
    """Render a scene to a clip and its truth."""
    from tqdm import tqdm

    from kneevision.digital_human.body import BODIES
    from kneevision.digital_human.clip import RenderOptions, render_scene
    from kneevision.digital_human.render import Lighting, PhoneCamera
    from kneevision.digital_human.scenes import SCENES

    if args.body not in BODIES:
        raise KneeVisionError(f"unknown --body {args.body!r}; choose from {', '.join(BODIES)}")
    cam = PhoneCamera(**_parse_kv(args.camera, PhoneCamera, "camera"))
    if args.portrait and cam.width > cam.height:
        cam = replace(cam, width=cam.height, height=cam.width)
    opt = RenderOptions(
        body=args.body,
        camera=cam,
        lighting=Lighting(**_parse_kv(args.light, Lighting, "light")),
        look=_look(args.look),
        supersample=args.supersample,
        motion_blur=args.motion_blur,
        markers_mm=args.markers_mm,
        seed=args.seed,
    )
    kwargs = _scene_kwargs(args.scene, args.param)
    if args.scene in ("squat", "single-leg-squat"):
        from kneevision.digital_human.body import rest_body

        kwargs["rest"] = rest_body(opt.shape)
    scene = SCENES[args.scene](fps=cam.fps, **kwargs)
    out = Path(args.out)
    if out.suffix.lower() != ".mp4":
        raise KneeVisionError("the output must be an .mp4 file", out)
    bar = tqdm(total=len(scene.poses), desc=out.name, unit="frame", disable=None, leave=False)

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    try:
        video, truth = render_scene(scene, out, opt, progress)
    finally:
        bar.close()
    print(f"✓ {video} ({len(scene.poses)} frames, {cam.width}x{cam.height} @ {cam.fps:g} fps)")
    print(f"  truth: {truth}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """Render the validity matrix, analyse each clip, compare with the truth."""
    from kneevision.digital_human.validate import run_validation
    from kneevision.protocols.validity import TABLE

    table = run_validation(
        Path(args.out), quick=args.quick, protocol=args.protocol, model=args.model,
        workers=args.workers, publish_to=TABLE if args.publish else None, fast=args.fast,
        renders_dir=args.renders, reuse=args.reuse, rescore=args.rescore,
    )  # fmt: skip
    print(table)
    print(f"✓ {Path(args.out) / 'validity.csv'} and {Path(args.out) / 'validity.md'}")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``render`` and ``validate`` on the main parser."""
    from kneevision.digital_human.body import BODIES
    from kneevision.digital_human.scenes import SCENES

    p = sub.add_parser(
        "render",
        help="render a digital human doing a test, with its exact angles (truth.json)",
        description="Render the CC0 MakeHuman body doing SCENE as a phone would film it, "
        "and write the clip with <clip>.truth.json beside it: the true knee angles per frame "
        "(computed with KneeVision's own definitions from the posed skeleton), repetitions "
        "and the true 2-D joint positions.",
    )
    p.add_argument("scene", choices=list(SCENES), metavar="SCENE",
                   help=f"one of: {', '.join(SCENES)}")  # fmt: skip
    p.add_argument("--out", required=True, metavar="MP4", help="the clip to write")
    p.add_argument("--body", default="female-average", metavar="NAME",
                   help=f"body shape: {', '.join(BODIES)} (default female-average)")  # fmt: skip
    p.add_argument("--camera", metavar="K=V,...",
                   help="camera: width, height, fov_deg, fps, distance, height_m, azimuth "
                   "(0 front, 90 the left side), pitch, roll, aim_height")  # fmt: skip
    p.add_argument("--portrait", action="store_true", help="film in portrait")
    p.add_argument("--light", metavar="K=V,...",
                   help="key light: azimuth, elevation, strength, ambient, shadow")  # fmt: skip
    p.add_argument(
        "--look",
        metavar="K=V,...",
        help="clothes and room: top, shorts, shoes, wall as #RRGGBB (shoes=none: "
        "barefoot), shorts_length, floor (wood, tiles, carpet), wall_gap, noise",
    )
    p.add_argument("--param", metavar="K=V,...",
                   help="scene parameters, e.g. depth=80,n_reps=3 (see its docs)")  # fmt: skip
    p.add_argument("--markers-mm", type=float, metavar="MM", dest="markers_mm",
                   help="tape printed ArUco markers of this size on shins and thighs")  # fmt: skip
    p.add_argument("--supersample", type=int, default=2, choices=range(1, 9), metavar="N",
                   help="subpixels per side (default 2; 3-4 for markers)")  # fmt: skip
    p.add_argument("--motion-blur", type=int, default=1, dest="motion_blur", metavar="N",
                   help="sub-frame poses averaged per frame (default 1: none)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="sensor-noise seed (default 0)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser(
        "validate",
        help="measure KneeVision's error on rendered clips (the validity table)",
        description="Render a matrix of scenes x bodies x camera placements, run the real "
        "analysis on each clip and write validity.csv (clip, metric, side: truth, measured, "
        "error) and validity.md (median and 95th-percentile |error| per metric, test and "
        "set-up).",
    )
    p.add_argument("--out", default="kneevision-validation", metavar="DIR")
    p.add_argument("--quick", action="store_true", help="a few short clips (a couple of minutes)")
    p.add_argument("--protocol", metavar="NAME", help="only this protocol's scenes")
    p.add_argument("--model", default="full", help="pose model (default full)")
    p.add_argument("--workers", type=int, default=1, help="clips rendered in parallel")
    p.add_argument("--fast", action="store_true",
                   help="analyse with the single-pass pose, to compare")  # fmt: skip
    p.add_argument("--renders", metavar="DIR",
                   help="rendered clips folder to use and keep (default OUT/renders)")  # fmt: skip
    p.add_argument("--reuse", action="store_true",
                   help="keep analyses already in OUT/analyses (re-score only)")  # fmt: skip
    p.add_argument("--rescore", action="store_true",
                   help="with --reuse: evaluate their stored landmarks again with this version "
                   "(no inference), after a change to the kinematics or a protocol")  # fmt: skip
    p.add_argument("--publish", action="store_true",
                   help="write the measured errors into the package, for summary.json and the "
                   "report (developers)")  # fmt: skip
    p.set_defaults(func=cmd_validate)

"""Analysis settings: the one definition of every setting (defaults < TOML file < flags).

Each field of :class:`Settings` carries, in its ``metadata``, what every entry point
needs: the help text, the unit, the allowed range or choices, the command-line flag,
the commands that offer it and whether it changes the results. The CLI options of
``analyze``, ``batch`` and ``live``, the TOML loader, the batch settings hash and the
validation are all derived from it, so a setting is defined once.
"""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kneevision.errors import KneeVisionError
from kneevision.protocols import CHOICES as PROTOCOL_CHOICES
from kneevision.protocols.base import VALGUS_WARN_DEG

#: Commands whose options come from :class:`Settings`.
COMMANDS = ("analyze", "batch", "live")
#: Export formats (``--export``); written by :func:`kneevision.export.write_exports`.
EXPORT_FORMATS = ("trc", "mot", "c3d", "nc")
#: Defaults of ``live`` where they differ from a clip's: a fast model and one pass a
#: frame keep latency low; the report is asked for.
LIVE_DEFAULTS: dict[str, Any] = {"model": "lite", "max_people": 1, "fast": True, "report": False}


def setting(
    default: Any,
    help: str,
    *,
    unit: str | None = None,
    range: tuple[float | None, float | None] | None = None,
    choices: Iterable[str] | None = None,
    flag: str | None = None,
    metavar: str | None = None,
    changes_results: bool = True,
    commands: tuple[str, ...] = COMMANDS,
) -> Any:
    """A :class:`Settings` field with its description.

    Parameters
    ----------
    default : object
        Default value (a tuple for sequences, so the dataclass stays hashable).
    help : str
        One-line help, shown by ``--help``.
    unit : str, optional
        Unit of a number (``"Hz"``, ``"s"``, ``"deg"`` ...).
    range : (float or None, float or None), optional
        Inclusive bounds of a number (None: open).
    choices : iterable of str, optional
        Allowed values of a string (each item, for a sequence).
    flag : str, optional
        Command-line flag; ``None`` derives ``--name-with-dashes``; ``""`` offers none.
    metavar : str, optional
        Placeholder in ``--help``.
    changes_results : bool
        Whether the setting changes what an analysis measures or writes (part of the
        batch settings hash). Scheduling and extra export formats do not.
    commands : tuple of str
        The commands offering the flag.
    """
    meta = {
        "help": help,
        "unit": unit,
        "range": range,
        "choices": tuple(choices) if choices is not None else None,
        "flag": flag,
        "metavar": metavar,
        "changes_results": changes_results,
        "commands": commands,
    }
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """Analysis settings, validated on creation.

    Every field is described in its metadata (see :func:`setting` and
    :func:`describe`); ``kneevision analyze --help`` lists them. Use
    :func:`dataclasses.replace` to change a field (it validates again).

    Raises
    ------
    KneeVisionError
        A value of the wrong type or out of range, in one line naming the setting.
    """

    model: str = setting(
        "full",
        "pose model: lite (fastest), full, heavy (downloaded once if online) or a path to a "
        ".task file",
        metavar="NAME|PATH",
    )
    mirrored: bool = setting(
        False,
        "the video is mirrored (front/selfie camera): swap left and right back",
        commands=("analyze", "batch"),
    )
    max_people: int = setting(
        2,
        "people to look for; with more than one in view the first person followed stays "
        "followed (1 is slightly faster)",
        range=(1, 10),
        metavar="N",
    )
    overlay: bool = setting(True, "write overlay.mp4 (--no-overlay: do not)", commands=())
    overlay_max_side: int = setting(
        960,
        "longest side of the overlay video at most (0 keeps the clip's size): the clip is "
        "shrunk by a whole factor (1/2, 1/3, ...), as drawing and encoding full-size "
        "frames compete with inference for the CPU",
        unit="px",
        range=(0, 8192),
        metavar="PX",
        changes_results=False,
        commands=("analyze", "batch"),
    )
    vis_threshold: float = setting(
        0.5,
        "landmarks with visibility below V count as missing",
        range=(0.0, 1.0),
        metavar="V",
    )
    max_gap_s: float = setting(
        0.3, "longest gap in a landmark bridged by interpolation", unit="s", range=(0.0, 5.0),
        metavar="S",
    )  # fmt: skip
    cutoff_hz: float = setting(
        6.0, "low-pass cutoff for landmark smoothing", unit="Hz", range=(0.5, 30.0), metavar="HZ"
    )
    protocol: str = setting(
        "auto",
        "the test filmed: " + ", ".join(PROTOCOL_CHOICES) + " (auto: chosen from the motion, "
        "with the reasons in summary.json); several seated-twist clips are also combined",
        choices=PROTOCOL_CHOICES,
        metavar="NAME",
    )
    side: str | None = setting(
        None,
        "the leg tested, when a clip shows one leg and it cannot be told apart",
        choices=("left", "right"),
    )
    image_fps: float = setting(
        30.0,
        "frame rate of a folder of images given instead of a video",
        unit="fps",
        range=(1.0, 1000.0),
        metavar="FPS",
        commands=("analyze", "batch"),
    )
    max_inference_fps: float = setting(
        60.0,
        "slow motion: run the pose model on at most this many frames a second and "
        "interpolate the frames between (0: every frame)",
        unit="fps",
        range=(0.0, 1000.0),
        metavar="FPS",
        commands=("analyze", "batch"),
    )
    report: bool = setting(True, "write report.html and report.pdf")
    blur_faces: bool = setting(
        False,
        "blur faces in the overlay video and report pictures, so they can be shared",
        commands=("analyze", "batch"),
    )
    markers: bool = setting(
        False,
        "seated twist with printed markers (kneevision markers print): also measure tibial "
        "rotation from the markers, beside the markerless estimate",
        commands=("analyze", "batch"),
    )
    marker_size_mm: float = setting(
        40.0, "printed marker size", unit="mm", range=(5.0, 500.0), metavar="MM",
        commands=("analyze", "batch"),
    )  # fmt: skip
    fov_deg: float = setting(
        65.0,
        "camera's horizontal field of view, for the marker poses when there is no "
        "--intrinsics file (65: phones)",
        unit="deg",
        range=(10.0, 170.0),
        metavar="DEG",
        commands=("analyze", "batch"),
    )
    intrinsics: str | None = setting(
        None,
        "camera calibration from 'kneevision markers calibrate', for the marker poses",
        metavar="JSON",
        commands=("analyze", "batch"),
    )
    fast: bool = setting(
        False,
        "run the model once a frame. By default it also runs on the mirror image of every "
        "frame, on a second core, and the two are averaged, so that left and right legs are "
        "measured alike (MediaPipe alone reads a mirrored clip's legs several degrees apart)",
        commands=("analyze", "batch"),
    )
    parallel_mirror: bool = setting(
        True,
        "run the mirrored landmarker in a thread of its own (off: one after the other, what "
        "batch workers sharing the cores do); the results are the same",
        changes_results=False,
        commands=(),
    )
    reserve_core: bool = setting(
        True,
        "keep inference on its own CPUs and decoding/overlay on the others",
        changes_results=False,
        commands=(),
    )
    valgus_warn_deg: float = setting(
        VALGUS_WARN_DEG,
        "FPPA above which a repetition (and the live overlay) is marked as knee cave-in",
        unit="deg",
        range=(0.0, 45.0),
        metavar="DEG",
    )
    export: tuple[str, ...] = setting(
        (),
        "also write these formats into the analysis folder: " + ", ".join(EXPORT_FORMATS),
        choices=EXPORT_FORMATS,
        metavar="FMT[,FMT]",
        changes_results=False,
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = _coerce(f, getattr(self, f.name))
            object.__setattr__(self, f.name, value)  # frozen: normalised once, here

    def to_dict(self) -> dict:
        """Plain-dict form (what summary.json stores)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], source: str | Path | None = None) -> Settings:
        """Settings from a mapping (a TOML table, keyword arguments), defaults for the rest.

        Raises
        ------
        KneeVisionError
            An unknown name, or a value of the wrong type or out of range.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise KneeVisionError(f"unknown setting(s): {', '.join(unknown)}", source)
        try:
            return cls(**values)
        except KneeVisionError as exc:
            raise KneeVisionError(exc.problem, source or exc.path) from None

    def result_key(self) -> dict:
        """The settings that change results (what decides whether a result can be reused)."""
        return {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.metadata["changes_results"]
        }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _type_name(f: dataclasses.Field) -> str:
    return str(f.type).replace(" | None", "")


def _coerce(f: dataclasses.Field, value: Any) -> Any:
    """Check one value against its field; the normalised value, or a one-line error."""
    meta, kind = f.metadata, _type_name(f)
    optional = "None" in str(f.type)

    def bad(why: str) -> KneeVisionError:
        return KneeVisionError(f"setting {f.name}: {why} (got {value!r})")

    if value is None:
        if optional:
            return None
        raise bad(f"needs a {kind}")
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("must be true or false")
        return value
    if kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad(f"must be a number ({kind})")
        if kind == "int" and value != int(value):
            raise bad("must be a whole number")
        value = int(value) if kind == "int" else float(value)
        lo, hi = meta["range"] or (None, None)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            unit = f" {meta['unit']}" if meta["unit"] else ""
            raise bad(
                f"must be between {lo:g} and {hi:g}{unit}"
                if lo is not None and hi is not None
                else f"must be {'at least' if lo is not None else 'at most'} "
                f"{lo if lo is not None else hi:g}{unit}"
            )
        return value
    if kind.startswith("tuple"):
        if isinstance(value, str):
            value = [v for v in (p.strip() for p in value.split(",")) if v]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise bad("must be a list of names")
        items = tuple(dict.fromkeys(v.lower() for v in value))
        wrong = [v for v in items if meta["choices"] and v not in meta["choices"]]
        if wrong:
            raise bad(f"choose from {', '.join(meta['choices'])}")
        return items
    if not isinstance(value, str):
        raise bad("must be text")
    if meta["choices"] and value not in meta["choices"]:
        raise bad(f"choose from {', '.join(meta['choices'])}")
    return value


def describe() -> list[dict]:
    """Every setting with its default and description (for documentation and forms)."""
    return [
        {"name": f.name, "type": _type_name(f), "default": _plain(f.default), **f.metadata}
        for f in dataclasses.fields(Settings)
    ]


# --- command line and settings files -----------------------------------------------------


def flag_of(f: dataclasses.Field) -> str | None:
    """The command-line flag of a field (None when it has none)."""
    flag = f.metadata["flag"]
    if flag == "":
        return None
    return flag or "--" + f.name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """Add the options of every setting offered by ``command`` to a parser.

    Options default to ``argparse.SUPPRESS``, so :func:`from_args` can tell what was
    given on the command line from what was not (a settings file fills the rest).
    """
    defaults = {**(LIVE_DEFAULTS if command == "live" else {})}
    for f in dataclasses.fields(Settings):
        flag = flag_of(f)
        if flag is None or command not in f.metadata["commands"]:
            continue
        meta, kind = f.metadata, _type_name(f)
        default = defaults.get(f.name, f.default)
        if isinstance(default, bool):
            shown = "on" if default else "off"
        elif isinstance(default, tuple):
            shown = ",".join(default)
        else:
            shown = (
                "" if default is None else f"{default:g}" if isinstance(default, float) else default
            )
            shown = f"{shown} {meta['unit']}" if shown != "" and meta["unit"] else shown
        text = meta["help"] + (f" (default {shown})" if shown != "" else "")
        text = text.replace("%", "%%")
        common = {"dest": f.name, "default": argparse.SUPPRESS, "help": text}
        if kind == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **common)
        elif kind in ("int", "float"):
            # Type errors are reported by the validation, naming the setting.
            parser.add_argument(flag, type=_number, metavar=meta["metavar"] or "X", **common)
        else:
            choices = meta["choices"] if kind == "str" else None
            parser.add_argument(flag, choices=choices, metavar=meta["metavar"], **common)
    # The overlay is a clip's default output; --no-overlay turns it off.
    if command in ("analyze", "batch"):
        parser.add_argument(
            "--no-overlay", dest="overlay", action="store_false", default=argparse.SUPPRESS,
            help="do not write overlay.mp4",
        )  # fmt: skip
    parser.add_argument(
        "--config",
        metavar="TOML",
        help=f"settings file ([{command}] or [analyze] table); command-line options override it",
    )


def _number(text: str) -> float | int | str:
    """A number from the command line (left as text when it is none: validation names it)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def load_config(path: str | Path | None, command: str = "analyze") -> dict:
    """The settings of a TOML file: its ``[command]`` table, else ``[analyze]``, else the top.

    Raises
    ------
    KneeVisionError
        The file is missing or not valid TOML.
    """
    if path is None:
        return {}
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise KneeVisionError("settings file not found", path) from None
    except tomllib.TOMLDecodeError as exc:
        raise KneeVisionError(f"settings file is not valid TOML ({exc})", path) from None
    for table in (command, "analyze"):
        if isinstance(data.get(table), dict):
            return data[table]
    return {k: v for k, v in data.items() if not isinstance(v, dict)}


def from_args(args: argparse.Namespace, command: str) -> Settings:
    """Settings of one command: defaults < ``--config`` file < command-line options."""
    names = {f.name for f in dataclasses.fields(Settings)}
    base = LIVE_DEFAULTS if command == "live" else {}
    config = getattr(args, "config", None)
    values = {**base, **load_config(config, command)}
    given = {k: v for k, v in vars(args).items() if k in names}
    Settings.from_dict(values, config)  # a bad file value names the file
    return Settings.from_dict({**values, **given})


__all__ = [
    "EXPORT_FORMATS",
    "LIVE_DEFAULTS",
    "Settings",
    "add_arguments",
    "describe",
    "from_args",
    "load_config",
    "setting",
]

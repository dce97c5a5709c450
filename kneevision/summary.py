"""The typed contract of ``summary.json``: what the report, the CLI and the store read.

:meth:`Summary.from_json` refuses a summary written with a newer ``schema_version``
than this version knows; :meth:`Summary.to_json` gives back the same keys, so a
summary read and written again is unchanged (keys this version does not know are
kept in ``extra``). The JSON Schema (draft 2020-12) is published beside this module
as ``schema/summary.schema.json`` (:func:`json_schema`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from kneevision.errors import KneeVisionError
from kneevision.outputs import SUMMARY_SCHEMA_VERSION, to_jsonable

Number = float | None
SIDE_NAMES = ("left", "right")


def _num(v: object) -> float:
    """A stored number as a float (JSON null → NaN)."""
    return math.nan if v is None else float(v)  # type: ignore[arg-type]


class _Part:
    """JSON ↔ dataclass for the parts: known keys become fields, the rest ``extra``.

    ``_nested`` names the fields that are parts themselves and ``_maps`` those that
    are dicts of parts (field name → part class).
    """

    _nested: ClassVar[dict[str, Any]] = {}
    _maps: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_json(cls, data: dict) -> Any:
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}  # type: ignore[arg-type]
        kwargs = {k: v for k, v in data.items() if k in names}
        for name, part in cls._nested.items():
            if isinstance(kwargs.get(name), dict):
                kwargs[name] = part.from_json(kwargs[name])
        for name, part in cls._maps.items():
            if isinstance(kwargs.get(name), dict):
                kwargs[name] = {k: part.from_json(v) for k, v in kwargs[name].items()}
        extra = {k: v for k, v in data.items() if k not in names}
        obj = cls(**kwargs, extra=extra)  # type: ignore[call-arg]
        obj._absent = names - set(data)  # written back as read: no invented keys
        return obj

    def to_json(self) -> dict:
        absent = getattr(self, "_absent", set())
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if f.name not in absent
        }
        for name in self._nested:
            if isinstance(out.get(name), _Part):
                out[name] = out[name].to_json()
        for name in self._maps:
            if isinstance(out.get(name), dict):
                out[name] = {k: v.to_json() for k, v in out[name].items()}
        extra = out.pop("extra")
        return to_jsonable({**out, **extra})  # type: ignore[return-value]


@dataclass
class Stat(_Part):
    """One metric aggregated over repetitions: ``value`` is the headline figure."""

    value: Number = None
    mean: Number = None
    sd: Number = None
    min: Number = None
    max: Number = None
    n: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        """Whether the headline value exists."""
        return self.value is not None and math.isfinite(self.value)


@dataclass
class SideMetrics:
    """One leg's metrics (``Stat`` by name) and facts such as ``tested`` (seated twist)."""

    metrics: dict[str, Stat] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict | None) -> SideMetrics:
        """From ``summary["sides"][side]``."""
        data = data or {}
        return cls(
            {k: Stat.from_json(v) for k, v in data.items() if isinstance(v, dict)},
            {k: v for k, v in data.items() if not isinstance(v, dict)},
        )

    def to_json(self) -> dict:
        """Back to ``summary["sides"][side]``."""
        return {**self.facts, **{k: v.to_json() for k, v in self.metrics.items()}}

    def value(self, metric: str) -> float:
        """The headline value of a metric (NaN when absent)."""
        s = self.metrics.get(metric)
        return _num(s.value) if s is not None else math.nan


@dataclass
class RepRow(_Part):
    """One repetition of one leg; its measures (by metric name) in ``extra``."""

    side: str = ""
    rep: int | None = None
    start_s: Number = None
    bottom_s: Number = None
    end_s: Number = None
    partial: str | None = None
    extra: dict = field(default_factory=dict)

    def get(self, name: str) -> Any:
        """A measure of this repetition (None when absent)."""
        return getattr(self, name) if name in _REP_FIELDS else self.extra.get(name)


_REP_FIELDS = ("side", "rep", "start_s", "bottom_s", "end_s", "partial")


@dataclass
class Asymmetry(_Part):
    """Left versus right on one metric, judged against its MDC."""

    left: Number = None
    right: Number = None
    difference: Number = None
    lsi: Number = None
    mdc: Number = None
    exceeds_mdc: bool | None = None
    verdict: str = ""
    mdc_source: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Flag(_Part):
    """A quality flag: what happened and what to do next time."""

    code: str = ""
    message: str = ""
    advice: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class Event(_Part):
    """A moment of the clip (a rep bottom, a touchdown)."""

    time_s: Number = None
    side: str | None = None
    kind: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class Detection(_Part):
    """How the protocol and the view were chosen."""

    requested: str = ""
    chosen: str = ""
    reasons: list[str] = field(default_factory=list)
    view: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class LiveFacts(_Part):
    """A live session's timing: frames shown, latency and inference time (ms)."""

    frames: int | None = None
    latency_ms_p50: Number = None
    latency_ms_p95: Number = None
    inference_ms_p50: Number = None
    inference_ms_p95: Number = None
    latency_growth_ms_per_min: Number = None
    captured: int | None = None
    dropped: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class InputFacts(_Part):
    """The clip analysed: where it was, its content hash and its frames.

    ``live`` holds a live session's timing (None for a clip).
    """

    _nested: ClassVar[dict[str, Any]] = {"live": LiveFacts}

    path: str = ""
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    fps: Number = None
    frames: int | None = None
    frames_decoded: int | None = None
    duration_s: Number = None
    pixel_aspect: Number = None
    rotation: int | None = None
    live: LiveFacts | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class ModelInfo(_Part):
    """The pose model used."""

    name: str = ""
    sha256: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class RunFacts(_Part):
    """How long the pose estimation took."""

    seconds: Number = None
    fps: Number = None
    extra: dict = field(default_factory=dict)


@dataclass
class MetricError(_Part):
    """One metric's error measured on rendered video of known truth (the metric's units)."""

    median_abs: Number = None
    p95_abs: Number = None
    bias: Number = None
    n: int | None = None
    clips: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class MeasuredError(_Part):
    """The errors measured for this protocol and view, and where they come from."""

    _maps: ClassVar[dict[str, Any]] = {"metrics": MetricError}

    source: str = ""
    metrics: dict[str, MetricError] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


@dataclass
class Summary:
    """``summary.json`` as typed objects.

    Dict-valued descriptions (``settings``, ``angles``, ``markers``) stay dicts; the
    ``markers`` block is read typed with :meth:`markers_summary`.
    Keys this version does not know are kept in ``extra`` and written back.
    """

    schema_version: int
    kneevision_version: str
    protocol: str
    view: str
    detection: Detection = field(default_factory=Detection)
    reps: list[RepRow] = field(default_factory=list)
    sides: dict[str, SideMetrics] = field(default_factory=dict)
    bilateral: dict[str, Stat] = field(default_factory=dict)
    asymmetry: dict[str, Asymmetry] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    quality: list[Flag] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    input: InputFacts | None = None
    model: ModelInfo | None = None
    settings: dict = field(default_factory=dict)
    frames_with_pose: int | None = None
    angles: dict[str, dict | None] = field(default_factory=dict)
    timing: RunFacts | None = None
    outputs: list[str] = field(default_factory=list)
    measured_error: MeasuredError | None = None
    markers: dict | None = None
    inputs: list[dict] | None = None  # a combined result's clips
    clips: list[str] | None = None
    extra: dict = field(default_factory=dict)

    # --- reading and writing ------------------------------------------------------------

    @classmethod
    def from_json(cls, data: dict | str | Path) -> Summary:
        """A summary from its JSON (a dict, a JSON string or a ``summary.json`` path).

        Raises
        ------
        KneeVisionError
            A ``schema_version`` newer than this version reads, or a missing one.
        """
        where = None
        if isinstance(data, Path):
            where, data = data, data.read_text()
        if isinstance(data, str):
            data = json.loads(data)
        data = to_jsonable(data)  # NumPy numbers and NaN as summary.json stores them
        version = data.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise KneeVisionError(f"summary has no schema_version (got {version!r})", where)
        if version > SUMMARY_SCHEMA_VERSION:
            raise KneeVisionError(
                f"summary schema version {version} is newer than this KneeVision reads "
                f"({SUMMARY_SCHEMA_VERSION}): update KneeVision",
                where,
            )
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        kw = {k: v for k, v in data.items() if k in known}
        kw["detection"] = Detection.from_json(data.get("detection") or {})
        kw["reps"] = [RepRow.from_json(r) for r in data.get("reps", [])]
        kw["sides"] = {s: SideMetrics.from_json(v) for s, v in (data.get("sides") or {}).items()}
        kw["bilateral"] = {k: Stat.from_json(v) for k, v in (data.get("bilateral") or {}).items()}
        kw["asymmetry"] = {
            k: Asymmetry.from_json(v) for k, v in (data.get("asymmetry") or {}).items()
        }
        kw["events"] = [Event.from_json(e) for e in data.get("events", [])]
        kw["quality"] = [Flag.from_json(f) for f in data.get("quality", [])]
        parts = (("timing", RunFacts), ("input", InputFacts), ("model", ModelInfo),
                 ("measured_error", MeasuredError))  # fmt: skip
        for name, part in parts:
            if data.get(name) is not None:
                kw[name] = part.from_json(data[name])
        extra = {k: v for k, v in data.items() if k not in known}
        summary = cls(**kw, extra=extra)
        summary._absent = known - set(data)
        return summary

    def to_json(self) -> dict:
        """The JSON form (the keys of ``summary.json``; unset optional parts left out)."""
        out: dict[str, Any] = {}
        absent = getattr(self, "_absent", set())
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "extra" or f.name in absent or (v is None and f.name in _OPTIONAL):
                continue
            if isinstance(v, (_Part, SideMetrics)):
                v = v.to_json()
            elif isinstance(v, list):
                v = [x.to_json() if isinstance(x, _Part) else x for x in v]
            elif isinstance(v, dict):
                v = {k: x.to_json() if isinstance(x, (_Part, SideMetrics)) else x
                     for k, x in v.items()}  # fmt: skip
            out[f.name] = v
        return to_jsonable({**out, **self.extra})  # type: ignore[return-value]

    def write(self, path: str | Path) -> None:
        """Write to a ``summary.json`` file."""
        from kneevision.outputs import write_json

        write_json(Path(path), self.to_json())

    # --- questions every reader asks ----------------------------------------------------

    @property
    def clip_name(self) -> str:
        """The clip's file name (``combined`` for a merged result)."""
        return Path(self.input.path).name if self.input else "combined"

    def side(self, side: str) -> SideMetrics:
        """One leg's metrics (empty when the protocol measured none)."""
        return self.sides.get(side) or SideMetrics()

    def side_metrics(self) -> list[str]:
        """Metrics with a headline value on at least one leg, in order of appearance."""
        names: dict[str, None] = {}
        for s in SIDE_NAMES:
            for m, stat in self.side(s).metrics.items():
                if stat.measured:
                    names[m] = None
        return list(names)

    def reps_of(self, side: str) -> list[RepRow]:
        """The repetitions of one leg."""
        return [r for r in self.reps if r.side == side]

    def markers_summary(self) -> Summary | None:
        """The marker measurement (seated twist with printed markers) as its own summary.

        ``summary["markers"]`` holds the protocol's fields (``sides``, ``reps``,
        ``asymmetry``, ``quality`` ...) measured from the markers; it is read with this
        summary's versions. None when the clip was analysed without markers.

        Returns
        -------
        Summary or None
            The markers' result; its ``settings`` are the marker track's facts and
            keys such as ``markerless_minus_marker_deg`` are in ``extra``.
        """
        if not self.markers:
            return None
        versions = {"schema_version": self.schema_version,
                    "kneevision_version": self.kneevision_version}  # fmt: skip
        required = {"protocol": self.protocol, "view": self.view}
        return Summary.from_json({**required, **self.markers, **versions})


_OPTIONAL = {
    "input", "model", "frames_with_pose", "timing", "measured_error", "markers", "inputs",
    "clips",
}  # fmt: skip


@cache
def json_schema() -> dict:
    """The published JSON Schema (draft 2020-12) of ``summary.json``."""
    text = resources.files("kneevision").joinpath("schema/summary.schema.json").read_text()
    return json.loads(text)


def validate(data: dict) -> None:
    """Check a summary (as JSON) against the published schema (needs ``jsonschema``).

    Raises
    ------
    jsonschema.ValidationError
        The first place where the summary breaks the schema.
    """
    import jsonschema

    jsonschema.Draft202012Validator(json_schema()).validate(data)


__all__ = [
    "Asymmetry",
    "Detection",
    "Event",
    "Flag",
    "InputFacts",
    "LiveFacts",
    "MeasuredError",
    "MetricError",
    "ModelInfo",
    "RepRow",
    "RunFacts",
    "SideMetrics",
    "Stat",
    "Summary",
    "json_schema",
    "validate",
]

"""summary.json has a published JSON Schema and a typed contract that round-trips it;
every metric the protocols write is in the metric registry."""

from __future__ import annotations

import json

import jsonschema
import pytest

from kneevision import synthetic as S
from kneevision.errors import KneeVisionError
from kneevision.metrics import REGISTRY, format_value, is_registered, metric
from kneevision.outputs import SUMMARY_SCHEMA_VERSION, to_jsonable
from kneevision.protocols import prepare, run
from kneevision.summary import Summary, json_schema, validate

FRONT = S.Camera.facing([0, 0.6, 0], distance=3.5)
SIDE = S.Camera.facing([0, 0.6, 0], distance=3.5, yaw_deg=90)


def summary_of(scene, camera, protocol: str = "auto") -> dict:
    """What write_outputs puts in summary.json, for a synthetic scene (no video)."""
    result = run(protocol, prepare(scene.observe(camera, noise_px=0.5, noise_m=0.003, seed=1)))
    return to_jsonable({"schema_version": SUMMARY_SCHEMA_VERSION, "kneevision_version": "0.1.0",
                        **result.to_dict()})  # fmt: skip


SCENES = {
    "squat": (lambda: S.squat_scene(3, depth_deg=50.0, valgus_deg=8.0), FRONT, "squat"),
    "side squat": (lambda: S.squat_scene(3, depth_deg=90.0), SIDE, "squat"),
    "single-leg": (lambda: S.squat_scene(3, depth_deg=45.0, single_leg="left", lead_s=1.5),
                   FRONT, "single-leg-squat"),
    "balance": (lambda: S.squat_scene(0, single_leg="right", lead_s=6.0), FRONT, "balance"),
    "lunge": (lambda: S.lunge_scene(3, front="left", depth_deg=85.0), SIDE, "lunge"),
    "ankle": (lambda: S.lunge_scene(3, front="left", depth_deg=60.0), SIDE, "ankle"),
    "twist": (lambda: S.seated_twist_scene(internal_deg={"left": 12.0, "right": 24.0},
                                           external_deg=30.0),
              S.Camera.facing([0, 0.5, 0], distance=3.0), "seated-twist"),
}  # fmt: skip


def test_the_schema_is_valid_draft_2020_12():
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", list(SCENES))
def test_every_protocol_writes_a_valid_round_tripping_summary(name):
    make, camera, protocol = SCENES[name]
    data = summary_of(make(), camera, protocol)
    validate(data)
    summary = Summary.from_json(data)
    assert summary.to_json() == data
    names = {k for r in summary.reps for k, v in r.extra.items() if not isinstance(v, bool)}
    names |= {m for s in summary.sides.values() for m in s.metrics}
    names |= set(summary.bilateral) | set(summary.asymmetry)
    assert names and not {n for n in names if not is_registered(n)}


def test_a_newer_schema_version_is_refused_in_one_line():
    data = summary_of(SCENES["squat"][0](), FRONT, "squat")
    data["schema_version"] = SUMMARY_SCHEMA_VERSION + 1
    with pytest.raises(KneeVisionError, match="newer than this KneeVision") as err:
        Summary.from_json(json.dumps(data))
    assert "\n" not in str(err.value)
    with pytest.raises(jsonschema.ValidationError):
        validate(data)


def test_the_schema_catches_a_broken_summary():
    data = summary_of(SCENES["squat"][0](), FRONT, "squat")
    data["reps"][0]["side"] = "middle"
    with pytest.raises(jsonschema.ValidationError):
        validate(data)


def test_the_registry_describes_metrics_without_parsing_names():
    m = metric("peak_fppa_deg")
    assert (m.label, m.unit, m.mdc, m.higher_is) == ("peak FPPA", "°", 8.9, "worse")
    assert metric("internal_rotation_deg").mdc == 3.8
    assert metric("peak_knee_flexion_deg").mdc is None  # mirroring alone moves it 6.6°
    assert metric("left_knee_flexion_deg").label == "left knee flexion"
    assert all(v.name == k for k, v in REGISTRY.items())
    assert format_value("knee_ankle_separation_ratio", 1.16666) == "1.17"
    assert format_value("hold_s", 2.0) == "2.0 s"
    assert format_value("peak_fppa_deg", float("nan")) == "–"


def test_measured_error_markers_and_live_facts_are_typed_and_round_trip():
    data = summary_of(SCENES["twist"][0](), SCENES["twist"][1], "seated-twist")
    data["input"] = {"path": "/clips/twist.mp4", "sha256": None, "frames_decoded": 90,
                     "live": {"frames": 90, "latency_ms_p50": 41.0, "latency_ms_p95": 60.5,
                              "captured": 95, "dropped": 5}}  # fmt: skip
    data["measured_error"] = {"source": "test renders", "metrics": {"internal_rotation_deg": {
        "median_abs": 1.5, "p95_abs": 3.0, "bias": 0.4, "n": 12, "clips": 6}}}  # fmt: skip
    data["markers"] = {**{k: data[k] for k in ("protocol", "view", "sides", "asymmetry")},
                       "quality": [{"code": "markers_small", "message": "small", "advice": "a"}],
                       "settings": {"size_m": 0.05},
                       "markerless_minus_marker_deg": {"left": 1.2}}  # fmt: skip
    validate(data)
    summary = Summary.from_json(data)
    assert summary.to_json() == data
    assert summary.input.live.latency_ms_p95 == 60.5 and summary.input.live.dropped == 5
    error = summary.measured_error.metrics["internal_rotation_deg"]
    assert (error.median_abs, error.p95_abs, error.n) == (1.5, 3.0, 12)
    markers = summary.markers_summary()
    assert markers.side("left").facts["tested"]
    assert [f.code for f in markers.quality] == ["markers_small"]
    assert markers.extra == {"markerless_minus_marker_deg": {"left": 1.2}}
    assert markers.settings == {"size_m": 0.05}
    from kneevision.cli import format_result  # the command line reads the same parts

    text = format_result(summary)
    assert "markers left  IR 12" in text and "! small" in text
    del data["markers"]
    assert Summary.from_json(data).markers_summary() is None

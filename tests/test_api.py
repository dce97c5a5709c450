"""The Python API: kneevision.analyze / kneevision.load, and what they leave alone."""

from __future__ import annotations

import json
import os
import sys
import types

import numpy as np
import pytest

import kneevision
import kneevision.analysis
from kneevision.errors import KneeVisionError
from tests.helpers import BUNDLED


@pytest.fixture(scope="module")
def analysed(tmp_path_factory, request):
    """The bundled clip analysed through the API, counting protocol evaluations."""
    out = tmp_path_factory.mktemp("api")
    calls = []
    original = kneevision.analysis.evaluate

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    exports = []

    def write_exports(folder, formats):
        # what the export package will find: the finished analysis folder
        exports.append((folder, tuple(formats), sorted(p.name for p in folder.iterdir())))
        (folder / "landmarks.trc").write_text("PathFileType\t4\n")
        return [folder / "landmarks.trc"]

    mp = pytest.MonkeyPatch()
    mp.setattr(kneevision.analysis, "evaluate", counted)
    fake = types.SimpleNamespace(write_exports=write_exports, parse_formats=list)
    mp.setitem(sys.modules, "kneevision.export", fake)
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        a = kneevision.analyze(BUNDLED, out=out, model="lite", fast=True, overlay=False,
                               export="trc")  # fmt: skip
    finally:
        mp.undo()
    after = os.sched_getaffinity(0) if before is not None else None
    return a, len(calls), before, after, exports


@pytest.mark.slow
def test_analyze_evaluates_the_protocol_once_with_the_report_on(analysed):
    a, calls, *_ = analysed
    assert {"report.html", "report.pdf"} <= {p.name for p in a.folder.iterdir()}
    assert calls == 1


@pytest.mark.slow
def test_a_library_call_leaves_the_cpu_affinity_alone(analysed):
    a, _, before, after, _ = analysed
    assert before == after
    assert a.summary.settings["reserve_core"] is False


@pytest.mark.slow
def test_exports_are_written_once_the_folder_is_complete(analysed):
    a, *_, exports = analysed
    [(folder, formats, present)] = exports
    assert formats == ("trc",) and folder.parent == a.folder.parent  # inside the atomic folder
    assert {"pose.npz", "angles.csv", "summary.json", "report.html"} <= set(present)
    assert "landmarks.trc" in a.summary.outputs and (a.folder / "landmarks.trc").is_file()
    assert a.summary.settings["export"] == ["trc"]


@pytest.mark.slow
def test_analysis_tables_pose_and_summary(analysed, validate_summary):
    a = analysed[0]
    assert a.summary.protocol == "squat" and len(a.summary.reps_of("left")) == 5
    assert len(a.angles) == len(a.pose) == a.summary.input.frames_decoded
    assert np.nanmax(a.angles["left_knee_flexion_deg"]) > 60
    assert list(a.reps["side"]).count("left") == 5
    assert {type(v) for v in a.reps["valgus_warning"]} == {bool}
    peak = a.summary.side("left").value("peak_knee_flexion_deg")
    assert np.nanmean(a.reps["peak_knee_flexion_deg"][a.reps["side"] == "left"]) == (
        pytest.approx(peak, abs=1e-3)
    )
    validate_summary(a.folder / "summary.json")


@pytest.mark.slow
def test_load_gives_back_the_same_analysis(analysed):
    a = analysed[0]
    b = kneevision.load(a.folder)
    assert b.summary == kneevision.Summary.from_json(a.folder / "summary.json")
    assert b.summary.to_json() == json.loads((a.folder / "summary.json").read_text())
    assert np.array_equal(b.angles["time_s"], a.angles["time_s"])
    assert b.pose is not None and len(b.pose) == len(a.pose)
    html, pdf = b.report()
    assert html.is_file() and pdf.is_file()


def test_invalid_settings_are_refused_before_inference(tmp_path, monkeypatch):
    import kneevision.pipeline

    def no_inference(*args, **kwargs):
        raise AssertionError("inference started")

    monkeypatch.setattr(kneevision.pipeline, "run_pose", no_inference)
    for bad in ({"cutoff_hz": 0}, {"protocol": "jump"}, {"colour": 1}, {"export": "obj"}):
        with pytest.raises(KneeVisionError, match="setting"):
            kneevision.analyze(BUNDLED, out=tmp_path, **bad)
    assert not list(tmp_path.iterdir())


def test_an_export_without_its_package_is_refused_before_inference(tmp_path, monkeypatch):
    import sys

    import kneevision.pipeline

    monkeypatch.setitem(sys.modules, "kneevision.export", None)  # import fails
    monkeypatch.setattr(kneevision.pipeline, "run_pose", lambda *a, **k: 1 / 0)
    with pytest.raises(KneeVisionError, match="cannot export trc"):
        kneevision.analyze(BUNDLED, out=tmp_path, export=["trc"])


def test_load_refuses_what_is_not_an_analysis(tmp_path):
    with pytest.raises(KneeVisionError, match=r"no summary\.json"):
        kneevision.load(tmp_path)

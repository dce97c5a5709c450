"""Measured errors: read from the published table, stated in summary.json and the report."""

from __future__ import annotations

import json

from kneevision.protocols import validity
from kneevision.report.document import measured_error_lines


def test_errors_come_from_the_table_for_the_protocol_and_view(tmp_path, monkeypatch):
    table = {"source": "test renders", "errors": {"squat": {"front": {
        "fppa_at_peak_flexion_deg": {"median_abs": 1.5, "p95_abs": 3.0, "bias": 0.4, "n": 12,
                                     "clips": 6}}}}}  # fmt: skip
    path = tmp_path / "validity.json"
    path.write_text(json.dumps(table))
    monkeypatch.setattr(validity, "_table", lambda: json.loads(path.read_text()))
    got = validity.measured_errors("squat", "front")
    assert got["fppa_at_peak_flexion_deg"].p95_abs == 3.0
    assert validity.measured_errors("squat", "side") == {}
    assert validity.measured_errors("lunge", "front") == {}
    me = {"source": "test renders", "metrics": {k: v.to_dict() for k, v in got.items()}}
    lines = measured_error_lines({"view": "front", "measured_error": me})
    assert len(lines) == 1 and "1.5°" in lines[0] and "3.0°" in lines[0] and "front" in lines[0]
    assert measured_error_lines({"view": "front"}) == []


def test_the_shipped_table_if_any_is_well_formed():
    for proto, views in validity._table().get("errors", {}).items():
        for view, metrics in views.items():
            for metric, v in metrics.items():
                e = validity.measured_errors(proto, view)[metric]
                assert 0 <= e.median_abs <= e.p95_abs and e.n >= 1, (proto, view, metric, v)

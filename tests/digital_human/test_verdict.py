"""The validity table's left–right verdict checks (no rendering)."""

from __future__ import annotations

from kneevision.digital_human.validate import _checks


def _squat(left: float, right: float, got: float, exceeds: bool) -> dict:
    summary = {
        "protocol": "squat",
        "view": "front",
        "asymmetry": {
            "fppa_at_peak_flexion_deg": {"difference": got, "exceeds_mdc": exceeds, "mdc": 8.9}
        },
    }
    truth = {"protocol": "squat", "view": "front", "reps": [{"rep": 1}, {"rep": 2}]}
    rows = [
        {"metric": "fppa_at_peak_flexion_deg", "side": side, "rep": rep, "truth": t}
        for side, t in (("left", left), ("right", right))
        for rep in (1, 2)
    ]
    return _checks(summary, truth, rows)


def test_fppa_verdict_is_judged_against_the_mdc_with_a_2_degree_margin():
    # Beyond the MDC by 2° or more: must be called, with the right leg higher.
    assert _squat(12.0, 0.0, 10.0, True)["fppa_verdict_ok"] is True
    assert _squat(12.0, 0.0, -10.0, True)["fppa_verdict_ok"] is False  # wrong leg named
    assert _squat(0.0, 12.0, 8.0, False)["fppa_verdict_ok"] is False  # missed
    # Below it by 2° or more: no difference may be claimed.
    assert _squat(5.0, 0.0, 5.5, False)["fppa_verdict_ok"] is True
    assert _squat(5.0, 0.0, 9.5, True)["fppa_verdict_ok"] is False
    # Within 2° of the MDC either answer is right: not judged.
    assert _squat(9.0, 0.0, 9.5, True)["fppa_verdict_ok"] == ""
    assert _squat(9.0, 0.0, 9.5, True)["fppa_difference_truth"] == 9.0


def test_no_fppa_verdict_without_both_legs_or_an_mdc():
    summary = {"protocol": "single-leg-squat", "asymmetry": {}}
    truth = {"protocol": "single-leg-squat", "view": "front", "reps": [{"rep": 1}]}
    rows = [{"metric": "fppa_at_peak_flexion_deg", "side": "left", "rep": 1, "truth": 5.0}]
    assert "fppa_verdict_ok" not in _checks(summary, truth, rows)

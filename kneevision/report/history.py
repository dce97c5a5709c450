"""A patient's history across sessions, left against right (from the batch database)."""

from __future__ import annotations

import html
import math
from pathlib import Path

from matplotlib.figure import Figure

from kneevision.errors import KneeVisionError
from kneevision.kinematics.landmarks import SIDES
from kneevision.outputs import atomic_file
from kneevision.report import plots
from kneevision.report.document import CSS, _img_tag
from kneevision.report.references import reference_for
from kneevision.store import Store


def history_figure(store: Store, patient: str, metric: str, protocol: str = "") -> Figure:
    """One metric per session and side, with the reference band when one applies.

    Parameters
    ----------
    store : Store
        The batch database.
    patient : str
        The patient's id.
    metric : str
        An aggregate metric stored for the patient, e.g. ``peak_fppa_deg``.
    protocol : str
        The patient's one protocol (``""`` when several: no reference is drawn).

    Returns
    -------
    Figure
    """
    rows = store.history(patient, metric)
    dates = sorted({r["date"] for r in rows})
    by = {(r["date"], r["side"]): r["value"] for r in rows}
    values = {
        s: [math.nan if by.get((d, s)) is None else float(by[(d, s)]) for d in dates]
        for s in SIDES
        if any((d, s) in by for d in dates)
    }
    return plots.history(dates, values, metric, reference_for(protocol, metric))


def write_history_report(db: str | Path, patient: str, out: str | Path | None = None) -> Path:
    """``<patient>_history.html``: every stored metric over the sessions, per side.

    Parameters
    ----------
    db : path
        The batch database (``kneevision.db``).
    patient : str
        The patient's id.
    out : path, optional
        The HTML file (default ``<patient>_history.html`` in the working folder).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    KneeVisionError
        No database, or no analysed session of that patient.
    """
    if not Path(db).is_file():
        raise KneeVisionError("database not found", db)
    with Store(db) as store:
        metrics = store.metrics_of(patient)
        if not metrics:
            raise KneeVisionError("no analysed sessions", f"patient {patient}")
        trials = [t for t in store.trials() if t["patient_id"] == patient]
        protocols = sorted({t["protocol"] for t in trials if t["protocol"]})
        e = html.escape
        parts = [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width,initial-scale=1'>",
            f"<title>KneeVision history: {e(patient)}</title><style>{CSS}</style></head><body>",
            f"<h1>KneeVision history: patient {e(patient)}</h1>",
            f"<p class='meta'>{len({t['date'] for t in trials})} session(s), {len(trials)} "
            f"clip(s), protocols: {e(', '.join(protocols) or '-')}</p>",
        ]
        failed = [t for t in trials if t["status"] == "failed"]
        if failed:
            parts.append("<div class='flags'><b>Clips that could not be analysed:</b><ul>")
            parts += [f"<li>{e(t['date'])} {e(Path(t['path']).name)}: {e(t['error'] or '')}</li>"
                      for t in failed]  # fmt: skip
            parts.append("</ul></div>")
        for m in metrics:
            fig = history_figure(store, patient, m, protocols[0] if len(protocols) == 1 else "")
            parts.append(f"<figure>{_img_tag(fig, m)}<figcaption>{e(plots.label_of(m))} per "
                         "session (mean of the session's clips)</figcaption></figure>")  # fmt: skip
        parts.append("<p class='small'>Made on this computer by KneeVision.</p></body></html>")
    out = Path(out) if out else Path(f"{patient}_history.html")
    with atomic_file(out) as tmp:
        tmp.write_text("\n".join(parts), encoding="utf-8")
    return out

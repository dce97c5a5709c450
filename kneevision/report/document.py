"""``report.html`` (self-contained) and ``report.pdf`` (A4) from an analysis folder.

Everything is rebuilt from the stored outputs (``summary.json``, ``pose.npz``)
without pose inference; the source video, when still where it was, gives the
key frame.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kneevision.analysis import StoredAnalysis, load_analysis
from kneevision.kinematics.landmarks import SIDES
from kneevision.metrics import format_value, metric
from kneevision.outputs import SUMMARY_SCHEMA_VERSION, atomic_file
from kneevision.report import plots
from kneevision.report.overlay import blur_face
from kneevision.report.pdf import write_pdf
from kneevision.report.references import LSI_CONVENTION, MUNRO_2012, reference_for
from kneevision.summary import Summary


@dataclass
class ReportData:
    """What a report is made of, loaded from an analysis folder.

    Attributes
    ----------
    folder : Path
        The analysis folder.
    summary : Summary
        ``summary.json`` through the typed contract.
    time_s : ndarray (T,)
        Frame times of the per-frame series.
    series : dict of str to dict of str to ndarray
        Per-frame series by metric and side (recomputed from ``pose.npz``).
    image_points : ndarray (T, 33, 2), optional
        Image landmarks, for the key frame.
    figures : list of (str, Figure)
        Captioned figures, when built.
    """

    folder: Path
    summary: Summary
    time_s: np.ndarray
    series: dict[str, dict[str, np.ndarray]]
    image_points: np.ndarray | None = None
    figures: list[tuple[str, Figure]] = field(default_factory=list)


def load(folder: str | Path, stored: StoredAnalysis | None = None) -> ReportData:
    """Read an analysis folder and recompute the per-frame series (no inference).

    With ``stored`` (an analysis just evaluated) nothing is read or evaluated again.

    Raises
    ------
    KneeVisionError
        The folder is not a KneeVision analysis.
    """
    stored = stored or load_analysis(folder)
    folder, summary = Path(folder), _contract(stored.summary)
    series: dict[str, dict[str, np.ndarray]] = {}
    time_s = np.zeros(0)
    points = None
    if stored.motion is not None and stored.result is not None:
        motion, result = stored.motion, stored.result
        time_s = motion.time_s
        points = motion.image
        series["knee_flexion_deg"] = {s: motion.angles[f"{s}_knee_flexion_deg"] for s in SIDES}
        if motion.view == "front":
            series["fppa_deg"] = motion.readable_fppa
        rot = {s: result.series.get(f"{s}_tibial_rotation_deg") for s in SIDES}
        if all(v is not None for v in rot.values()):
            series["tibial_rotation_deg"] = rot
    return ReportData(folder, summary, time_s, series, points)


def _valgus_key_frame(data: ReportData) -> Figure | None:
    """The rep with the largest readable FPPA, drawn on its video frame."""
    c = data.summary
    reps = [r for r in c.reps if r.bottom_s is not None]
    reps = [r for r in reps if r.get("fppa_at_peak_flexion_deg") is not None]
    src = Path(c.input.path) if c.input else None
    if not reps or data.image_points is None or src is None or not src.exists():
        return None
    rep = max(reps, key=lambda r: r.get("fppa_at_peak_flexion_deg"))
    i = int(np.argmin(np.abs(data.time_s - rep.bottom_s)))
    from kneevision.video.source import read_source

    for frame in read_source(src):
        if frame.index == i:
            pts = data.image_points[i].copy()
            aspect = c.input.pixel_aspect or 1.0
            image = frame.image
            if c.settings.get("blur_faces"):
                blur_face(image, pts, aspect)
            rgb = image[..., ::-1]
            pts[:, 0] /= aspect
            fppa = rep.get("fppa_at_peak_flexion_deg")
            return plots.key_frame(rgb, pts, rep.side, fppa, "fppa_deg")
    return None


def build_figures(data: ReportData) -> list[tuple[str, Figure]]:
    """The figures of a report, with captions, chosen by protocol.

    Parameters
    ----------
    data : ReportData
        The loaded analysis (:func:`load`).

    Returns
    -------
    list of (str, Figure)
        Caption and figure, in the report's order.
    """
    c = data.summary
    protocol, reps = c.protocol, c.reps
    figs: list[tuple[str, Figure]] = []
    if protocol == "seated-twist":
        ref = reference_for(protocol, "total_rotation_deg", c.sides)
        figs.append(("Range of each leg", plots.twist_ranges(c.sides, ref)))
        if "tibial_rotation_deg" in data.series:
            rot = data.series["tibial_rotation_deg"]
            fig = plots.time_series(data.time_s, rot, "tibial_rotation_deg", reps)
            figs.append(("Tibial rotation through the test", fig))
    else:
        for metric in ("knee_flexion_deg", "fppa_deg"):
            if metric in data.series:
                ref = reference_for(protocol, "peak_fppa_deg") if metric == "fppa_deg" else None
                figs.append(
                    (
                        f"{plots.label_of(metric)} through the clip",
                        plots.time_series(data.time_s, data.series[metric], metric, reps, ref),
                    )
                )
        for metric in ("peak_fppa_deg", "peak_knee_flexion_deg", "shank_angle_deg"):
            if any(r.get(metric) is not None for r in reps):
                ref = reference_for(protocol, metric)
                figs.append(
                    (f"{plots.label_of(metric)} per repetition", plots.rep_bars(reps, metric, ref))
                )
                break
    markers_csv = data.folder / "markers.csv"
    if markers_csv.is_file():
        import csv

        with open(markers_csv, newline="") as fh:
            rows = list(csv.DictReader(fh))
        t = np.array([float(r["time_s"]) for r in rows])
        marker = {
            s: np.array([float(r[f"{s}_marker_rotation_deg"] or "nan") for r in rows])
            for s in SIDES
        }
        free = data.series.get("tibial_rotation_deg")
        figs.append(("Markers and markerless", plots.marker_vs_markerless(t, marker, free)))
    if c.asymmetry:
        figs.append(("Left versus right", plots.asymmetry_chart(c.asymmetry)))
    key = _valgus_key_frame(data)
    if key is not None:
        figs.append(("The repetition with the most knee cave-in", key))
    return figs


# --- numbers ------------------------------------------------------------------------------


#: A table cell: the value with its metric's unit and decimals, ``–`` when missing.
fmt = format_value


def _contract(summary: Summary | dict) -> Summary:
    """A summary through the typed contract (a JSON form or fragment is read)."""
    if isinstance(summary, Summary):
        return summary
    # A fragment of a summary (``{"view": ..., "measured_error": ...}``, or a hand-made
    # summary.json without versions) is read as one with the required keys it lacks;
    # a newer schema_version is still refused.
    required = {"schema_version": SUMMARY_SCHEMA_VERSION, "kneevision_version": "",
                "protocol": "", "view": "unknown"}  # fmt: skip
    return Summary.from_json({**required, **summary})


def key_rows(summary: Summary | dict) -> list[dict]:
    """Rows of the key-numbers table: metric, left, right, reference, verdict.

    Parameters
    ----------
    summary : Summary or dict
        The summary (its JSON form is read through :class:`~kneevision.summary.Summary`).

    Returns
    -------
    list of dict
        ``{"metric", "left", "right", "reference", "verdict"}`` per metric measured on
        at least one leg (values NaN when missing).
    """
    c = _contract(summary)
    rows = []
    for m in c.side_metrics():
        ref = reference_for(c.protocol, m, c.sides)
        asym = c.asymmetry.get(m)
        rows.append(
            {
                "metric": m,
                "left": c.side("left").value(m),
                "right": c.side("right").value(m),
                "reference": f"{ref.text} ({ref.source})" if ref else "",
                "verdict": asym.verdict if asym else "",
            }
        )
    return rows


def plain_flags(summary: Summary | dict) -> list[tuple[str, str]]:
    """Quality flags as (what happened, what to do), for the top of the report.

    Parameters
    ----------
    summary : Summary or dict
        The summary (its JSON form is read through :class:`~kneevision.summary.Summary`).

    Returns
    -------
    list of (str, str)
        Message and advice of each flag.
    """
    return [(f.message, f.advice) for f in _contract(summary).quality]


# --- HTML ---------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:52rem;padding:1rem;color:#222;line-height:1.45}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:1.6rem}
.meta{color:#555;font-size:.9rem}.flags{background:#fff3e0;border-left:6px solid #D55E00;
padding:.6rem 1rem;margin:1rem 0}.flags li{margin:.3rem 0}.ok{background:#eef7ee;
border-left:6px solid #009E73;padding:.6rem 1rem}table{border-collapse:collapse;width:100%;
font-size:.9rem}th,td{border-bottom:1px solid #ddd;padding:.35rem .4rem;text-align:left;
vertical-align:top}td.num{text-align:right;white-space:nowrap}.left{color:#0072B2}
.right{color:#9a6a00}figure{margin:1rem 0}figure img{width:100%;height:auto}
figcaption{font-size:.85rem;color:#555}.small{font-size:.8rem;color:#555}
@page{size:A4;margin:15mm}
@media print{body{max-width:none;padding:0;font-size:10pt}h2{break-after:avoid}
th,td{overflow-wrap:break-word}td.num{overflow-wrap:normal}
tr,li,figure,.flags,.ok{break-inside:avoid}
figure img{width:auto;max-width:100%;max-height:120mm}a{color:inherit}}
"""


def _img_tag(fig: Figure, alt: str) -> str:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=110)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def render_html(data: ReportData, figures: list[tuple[str, Figure]]) -> str:
    """The self-contained HTML report (images embedded, no external requests).

    Parameters
    ----------
    data : ReportData
        The loaded analysis.
    figures : list of (str, Figure)
        Captioned figures (:func:`build_figures`).

    Returns
    -------
    str
        The HTML page.
    """
    s = data.summary
    e = html.escape
    name = Path(s.input.path).name if s.input else data.folder.name
    det = s.detection
    how = "detected" if det.requested == "auto" else "as asked"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>KneeVision report: {e(name)}</title><style>{CSS}</style></head><body>",
        f"<h1>KneeVision report: {e(s.protocol)}</h1>",
        f"<p class='meta'>Clip <b>{e(name)}</b> · view {e(s.view)} · "
        f"protocol {e(s.protocol)} ({how})"
        f" · model {e(s.model.name if s.model else '?')} · KneeVision "
        f"{e(s.kneevision_version)} · report made "
        f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}</p>",
    ]
    flags = plain_flags(s)
    if flags:
        parts.append(
            "<div class='flags' id='quality'><b>Please read first: the filming had problems, so "
            "some numbers below may be less reliable.</b><ul>"
        )
        parts += [f"<li>{e(m)}.<br><i>Next time:</i> {e(a)}</li>" for m, a in flags]
        parts.append("</ul></div>")
    else:
        parts.append("<div class='ok' id='quality'>No filming problems were found.</div>")
    rows = key_rows(s)
    parts.append("<h2>Key numbers</h2>")
    if rows:
        with_refs = any(r["reference"] for r in rows)
        parts.append(
            "<table id='key-numbers'><tr><th>measure</th><th class='left'>left</th>"
            "<th class='right'>right</th><th>left versus right</th>"
            + ("<th>reference</th>" if with_refs else "")
            + "</tr>"
        )
        for r in rows:
            m = r["metric"]
            cells = "".join(
                f"<td class='num {side}' data-metric='{e(m)}' data-side='{side}'>"
                f"{e(fmt(m, r[side]))}</td>"
                for side in SIDES
            )
            ref = f"<td class='small'>{e(r['reference'])}</td>" if with_refs else ""
            parts.append(
                f"<tr><td>{e(plots.label_of(m))}</td>{cells}<td>{e(r['verdict'])}</td>{ref}</tr>"
            )
        parts.append("</table>")
    else:
        parts.append("<p>No measure could be made on this clip.</p>")
    parts.append(
        f"<p class='small'>Values are the mean over repetitions unless named peak. "
        f"Measurement error: {e(MUNRO_2012)}. {e(LSI_CONVENTION)}.</p>"
    )
    parts.append("<h2>Plots</h2>")
    for caption, fig in figures:
        parts.append(
            f"<figure>{_img_tag(fig, caption)}<figcaption>{e(caption)}</figcaption></figure>"
        )
    if (data.folder / "overlay.mp4").is_file():
        parts.append(
            "<p><a href='overlay.mp4'>Watch the video with the measured legs drawn on it</a></p>"
        )
    if s.notes or s.measured_error:
        parts.append("<h2>How to read these numbers</h2><ul>")
        parts += [f"<li>{e(n)}</li>" for n in s.notes]
        parts += [f"<li>{e(n)}</li>" for n in measured_error_lines(s)]
        parts.append("</ul>")
    if det.reasons:
        parts.append("<p class='small'>Why this protocol: " + e("; ".join(det.reasons)) + ".</p>")
    parts.append(
        "<p class='small'>Made on this computer by KneeVision; no video or data left it.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def measured_error_lines(summary: Summary | dict) -> list[str]:
    """Sentences stating each metric's error measured on rendered video for this set-up.

    Parameters
    ----------
    summary : Summary or dict
        The summary; its ``measured_error`` part gives the figures.

    Returns
    -------
    list of str
        One sentence, or none when no error was measured for this protocol and view.
    """
    s = _contract(summary)
    me = s.measured_error
    if me is None or not me.metrics:
        return []
    parts = [
        f"{metric(m).label}: within {metric(m).format(e.median_abs)} (median) and "
        f"{metric(m).format(e.p95_abs)} (95% of values) of the truth"
        for m, e in me.metrics.items()
    ]
    return [
        f"Errors measured on rendered video of a digital human with exactly known angles, "
        f"for this test seen from the {s.view}: " + "; ".join(parts) + ". A rendered "
        "body is not a person: real clips can be worse. Source: " + me.source + "."
    ]


def write_report(folder: str | Path, stored: StoredAnalysis | None = None) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.pdf`` into an analysis folder (atomically).

    ``stored``: the analysis just evaluated (``kneevision.analysis.write_outputs``), so
    that the protocol is not evaluated a second time; by default the folder is read.

    Returns
    -------
    (Path, Path)
        The HTML and PDF files.
    """
    data = load(folder, stored)
    figures = build_figures(data)
    html_path, pdf_path = data.folder / "report.html", data.folder / "report.pdf"
    page = render_html(data, figures)
    with atomic_file(html_path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    write_pdf(page, pdf_path, base_url=data.folder)
    return html_path, pdf_path

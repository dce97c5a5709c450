"""Reports as a person sees them: HTML in headless Chromium, the PDF through poppler."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from kneevision import synthetic as S
from kneevision.analysis import evaluate, write_result_files
from kneevision.report import plots
from kneevision.report.document import build_figures, fmt, load, measured_error_lines, write_report
from kneevision.report.references import reference_for
from kneevision.settings import Settings
from kneevision.summary import Asymmetry, RepRow, SideMetrics, Stat, Summary

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CLIPS = (
    "front_goblet_squat_home_A",  # front squat, FPPA unreadable at depth (flag)
    "side_squat_home_D",  # side view, leaves the picture (flags)
    "two_people_outdoor_backlit_U",  # two people, no reps (flags)
    "balance_single_leg_lab_P_cam01",  # balance
    "front_lateral_lunge_home_A",  # lunge
)


def folder(root: Path, clip: str) -> Path:
    return root / f"{clip}_kneevision"


@pytest.fixture(scope="module")
def twist_folder(tmp_path_factory) -> Path:
    """A seated-twist analysis folder built from a synthetic scene (no real footage exists)."""
    from kneevision.outputs import write_json, write_table_csv

    out = tmp_path_factory.mktemp("twist") / "twist_kneevision"
    out.mkdir()
    scene = S.seated_twist_scene(internal_deg={"left": 12.0, "right": 24.0}, external_deg=30.0)
    seq = scene.observe(S.Camera.facing([0, 0.5, 0], distance=3.0), noise_px=0.5, noise_m=0.003)
    seq.save(out / "pose.npz")
    settings = Settings(protocol="seated-twist")
    motion, result = evaluate(seq, settings)
    write_result_files(out, result)
    write_table_csv(out / "angles.csv", {"time_s": motion.time_s, **result.series})
    write_json(out / "summary.json", {"settings": settings.to_dict(), **result.to_dict()})
    return out


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.cells: dict[tuple[str, str], str] = {}
        self._cell: tuple[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href", "data", "poster", "srcset"):
            if a.get(key):
                self.refs.append(a[key])
        if tag == "td" and "data-metric" in a:
            self._cell = (a["data-metric"], a["data-side"])

    def handle_data(self, data):
        if self._cell:
            self.cells[self._cell] = data
            self._cell = None


def test_every_figure_has_a_title_and_units(all_clips_analyzed, twist_folder):
    folders = [folder(all_clips_analyzed, c) for c in CLIPS] + [twist_folder]
    seen = 0
    captions: dict[str, list[str]] = {}
    for f in folders:
        for caption, fig in build_figures(load(f)):
            captions.setdefault(f.name, []).append(caption)
            titled = bool(fig.get_suptitle()) or any(ax.get_title() for ax in fig.axes)
            assert titled, (f.name, caption)
            for ax in fig.axes:
                if not ax.axison:
                    continue
                x, y = ax.get_xlabel(), ax.get_ylabel()
                assert re.search(r"\(.+\)", x), (f.name, caption, "x", x)
                categories = {t.get_text() for t in ax.get_yticklabels()} <= {"left", "right"}
                numeric_y = ax.get_yticks().size > 0 and not categories
                if numeric_y:  # dumbbell rows and left/right bars carry no numeric y axis
                    assert re.search(r"\(.+\)", y), (f.name, caption, "y", y)
                # something is drawn on the axes
                assert ax.lines or ax.patches or ax.images or ax.collections, (f.name, caption)
            seen += 1
    assert seen >= 14
    # The lateral lunge bends its knee across the picture: its FPPA is a slant, so no
    # figure shows a repetition with "the most knee cave-in" (it did before the guard).
    lateral = captions["front_lateral_lunge_home_A_kneevision"]
    assert "FPPA through the clip" in lateral
    assert not any("cave-in" in c for c in lateral), lateral


def test_html_self_contained_and_numbers_match_summary(all_clips_analyzed):
    for clip in CLIPS:
        f = folder(all_clips_analyzed, clip)
        html = (f / "report.html").read_text()
        summary = Summary.from_json(f / "summary.json")
        p = _Collect()
        p.feed(html)
        # no external requests: every image is embedded, the only link is the local overlay
        assert all(r.startswith("data:image/png;base64,") or r == "overlay.mp4" for r in p.refs)
        assert not re.search(r"https?://|@import|url\(", html)
        for (metric, side), text in p.cells.items():
            value = summary.side(side).value(metric)
            assert text == fmt(metric, value), (clip, metric, side)
        measured = {
            (m, s)
            for s in ("left", "right")
            for m, stat in summary.side(s).metrics.items()
            if stat.value is not None
        }
        assert measured <= set(p.cells), clip  # every measured number is in the table


def test_flagged_clip_says_so_at_the_top_in_plain_words(all_clips_analyzed):
    f = folder(all_clips_analyzed, "two_people_outdoor_backlit_U")
    html = (f / "report.html").read_text()
    top = html.index("Please read first")
    assert top < html.index("Key numbers")
    assert "more than one person" in html[top:] and "Next time" in html[top:]
    text = subprocess.run(
        ["pdftotext", "-l", "1", str(f / "report.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "Please read first" in text and "more than one person" in text


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is installed by `make test`")
def test_html_renders_in_headless_chromium(all_clips_analyzed, tmp_path):
    for clip, width in (("front_goblet_squat_home_A", 412), ("side_squat_home_D", 1024)):
        shot = tmp_path / f"{clip}.png"
        cmd = [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={width},2400", f"--screenshot={shot}",
            (folder(all_clips_analyzed, clip) / "report.html").as_uri(),
        ]  # fmt: skip
        subprocess.run(cmd, capture_output=True, timeout=120, check=True)
        img = imread(shot)
        assert img.shape[1] == width
        ink = (img[..., :3].mean(axis=2) < 0.6).mean()  # share of dark (text, plot) pixels
        assert 0.01 < ink < 0.6, (clip, ink)


def test_pdf_is_a4_and_every_page_is_drawn(all_clips_analyzed, tmp_path):
    for clip in ("front_goblet_squat_home_A", "two_people_outdoor_backlit_U"):
        pdf = folder(all_clips_analyzed, clip) / "report.pdf"
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info), info
        pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
        assert pages >= 2
        subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / clip)], check=True)
        pngs = sorted(tmp_path.glob(f"{clip}*.png"))
        assert len(pngs) == pages
        for png in pngs:
            ink = (imread(png)[..., :3].mean(axis=2) < 0.6).mean()
            assert ink > 0.003, (png.name, ink)


def test_report_command_rebuilds_from_stored_outputs(all_clips_analyzed, tmp_path):
    from kneevision.cli import main

    src = folder(all_clips_analyzed, "side_squat_home_D")
    copy = tmp_path / src.name
    shutil.copytree(src, copy)
    for name in ("report.html", "report.pdf", "overlay.mp4"):
        (copy / name).unlink()
    assert main(["report", str(copy), "-q"]) == 0
    assert (copy / "report.html").stat().st_size > 10_000
    assert (copy / "report.pdf").read_bytes().startswith(b"%PDF")
    assert "overlay.mp4" not in (copy / "report.html").read_text()  # no dead link
    assert not list(copy.glob(".report*"))  # no temp files left
    assert main(["report", str(tmp_path)]) == 1  # not an analysis folder


def test_seated_twist_report(twist_folder):
    html_path, pdf_path = write_report(twist_folder)
    assert pdf_path.read_bytes().startswith(b"%PDF")
    html = html_path.read_text()
    assert "Mossberg" in html and "internal rotation" in html
    p = _Collect()
    p.feed(html)
    left = float(p.cells[("internal_rotation_deg", "left")].rstrip("°"))
    assert abs(left - 12.0) < 2.0


def test_history_plot():
    fig = plots.history(
        ["2026-01-05", "2026-02-02", "2026-03-01"],
        {"left": [14.0, 11.0, 9.0], "right": [8.0, 8.5, 8.0]},
        "peak_fppa_deg",
    )
    ax = fig.axes[0]
    assert ax.get_title() and "(°)" in ax.get_ylabel() and "(date)" in ax.get_xlabel()
    assert [len(line.get_xdata()) for line in ax.lines] == [3, 3]
    assert np.allclose(ax.lines[0].get_ydata(), [14.0, 11.0, 9.0])


def _summary(**parts) -> Summary:
    return Summary(schema_version=1, kneevision_version="test", protocol="squat", view="front",
                   **parts)  # fmt: skip


def test_plots_take_the_typed_parts():
    reps = [
        RepRow(side="left", rep=1, start_s=0.0, bottom_s=0.5, end_s=1.0,
               extra={"peak_fppa_deg": 12.0, "valgus_warning": True}),
        RepRow(side="right", rep=1, start_s=0.0, bottom_s=0.6, end_s=1.0,
               extra={"peak_fppa_deg": 5.0}),
        RepRow(side="left", rep=2, start_s=1.0, bottom_s=None, end_s=None, partial="end"),
    ]  # fmt: skip
    bars = plots.rep_bars(reps, "peak_fppa_deg")
    heights = sorted(b.get_height() for b in bars.axes[0].patches)
    assert heights == [5.0, 12.0]
    t = np.linspace(0, 2, 50)
    series = {"left": np.sin(t), "right": np.cos(t)}
    fig = plots.time_series(t, series, "knee_flexion_deg", reps)
    bottoms = [ln for ln in fig.axes[0].lines if ln.get_marker() == "v"]
    assert [len(ln.get_xdata()) for ln in bottoms] == [1, 1]  # the partial rep has no bottom
    asym = {
        "peak_fppa_deg": Asymmetry(left=12.0, right=5.0, difference=7.0, mdc=8.9,
                                   exceeds_mdc=False, verdict="within error"),
        "hold_s": Asymmetry(left=None, right=3.0),  # one leg only: left out
    }  # fmt: skip
    fig = plots.asymmetry_chart(asym)
    assert len(fig.axes) == 1 and "+7.0°" in fig.axes[0].get_title(loc="left")
    sides = {
        "left": SideMetrics({"internal_rotation_deg": Stat(value=12.0),
                             "external_rotation_deg": Stat(value=30.0),
                             "knee_flexion_deg": Stat(value=70.0)}, {"tested": True}),
        "right": SideMetrics({}, {"tested": False}),
    }  # fmt: skip
    ref = reference_for("seated-twist", "total_rotation_deg", sides)
    assert ref is not None and "70° knee flexion" in ref.text
    fig = plots.twist_ranges(sides, ref)
    texts = [x.get_text() for x in fig.axes[0].texts]
    assert "right: not tested" in texts and " IR 12°" in texts


def test_measured_error_lines_read_the_typed_part():
    me = {"source": "renders v1", "metrics": {"peak_fppa_deg": {
        "median_abs": 1.5, "p95_abs": 3.0, "bias": 0.2, "n": 12, "clips": 6}}}  # fmt: skip
    s = Summary.from_json({**_summary().to_json(), "measured_error": me})
    assert s.measured_error.metrics["peak_fppa_deg"].p95_abs == 3.0
    (line,) = measured_error_lines(s)
    assert "within 1.5° (median) and 3.0°" in line and "renders v1" in line
    assert measured_error_lines(_summary()) == []

"""report.pdf as poppler reads it: every word on the page, every table cell holding its text.

``pdftotext -bbox-layout`` gives each word's box. A word outside the ``@page`` margins
has run off (or into the edge of) the page; in the key-numbers table, the header words
give the columns' left edges, so a word that crosses the next column's edge spills out
of its cell, and a column's text that is not exactly its cells' text one after the
other has been cut (as the hand-made matplotlib PDF cut "…to judg").
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import unicodedata
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from kneevision.errors import KneeVisionError
from kneevision.report import plots
from kneevision.report.document import (
    CSS,
    fmt,
    key_rows,
    measured_error_lines,
    plain_flags,
)
from kneevision.report.pdf import html_to_pdf, write_pdf
from kneevision.summary import Summary

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils is installed by `make test`"
)

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "samples" / "front_goblet_squat_home_A.mp4"
XHTML = "{http://www.w3.org/1999/xhtml}"
PT_PER_MM = 72 / 25.4
TOL = 1.0  # pt: rounding of glyph boxes
HEADER = ("measure", "left", "right", "left", "versus", "right")


@dataclass(frozen=True)
class Word:
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


@dataclass(frozen=True)
class Page:
    number: int
    width: float
    height: float
    words: list[Word]


def page_margin_pt(css: str = CSS) -> float:
    """The report's print margin, from its ``@page`` rule."""
    m = re.search(r"@page\{size:A4;margin:(\d+(?:\.\d+)?)mm\}", css)
    assert m, "the report's CSS has no @page{size:A4;margin:..mm} rule"
    return float(m.group(1)) * PT_PER_MM


def read_pages(pdf: Path) -> list[Page]:
    """Every word of a PDF with its box (points, origin top left), page by page."""
    xml = subprocess.run(
        ["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    root = ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", xml, count=1))
    pages = []
    for n, p in enumerate(root.iter(f"{XHTML}page"), start=1):
        words = [
            Word(n, *(float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")), w.text or "")
            for w in p.iter(f"{XHTML}word")
        ]
        pages.append(Page(n, float(p.get("width")), float(p.get("height")), words))
    return pages


def squeeze(text: str) -> str:
    """Text compared without spaces or line breaks (ligatures unfolded)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def reading_order(words: list[Word]) -> list[Word]:
    """Top to bottom by visual line, then left to right."""
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.page, w.y0)):
        if lines and lines[-1][0].page == w.page and abs(lines[-1][0].y0 - w.y0) < 2.0:
            lines[-1].append(w)
        else:
            lines.append([w])
    return [w for line in lines for w in sorted(line, key=lambda w: w.x0)]


def margin_problems(pages: list[Page], margin: float) -> list[str]:
    out = []
    for p in pages:
        for w in p.words:
            inside = (
                w.x0 >= margin - TOL
                and w.x1 <= p.width - margin + TOL
                and w.y0 >= margin - TOL
                and w.y1 <= p.height - margin + TOL
            )
            if not inside:
                box = f"({w.x0:.0f},{w.y0:.0f})-({w.x1:.0f},{w.y1:.0f})"
                out.append(f"page {p.number}: {w.text!r} at {box} outside the margins")
    return out


def overlap_problems(pages: list[Page]) -> list[str]:
    """Words drawn over one another (text laid out by hand without measuring it)."""
    out = []
    for p in pages:
        ws = sorted(p.words, key=lambda w: w.x0)
        for i, a in enumerate(ws):
            for b in ws[i + 1 :]:
                if b.x0 >= a.x1:
                    break
                dx = min(a.x1, b.x1) - max(a.x0, b.x0)
                dy = min(a.y1, b.y1) - max(a.y0, b.y0)
                small = min((a.x1 - a.x0) * (a.y1 - a.y0), (b.x1 - b.x0) * (b.y1 - b.y0))
                if dx > 0 and dy > 0 and dx * dy > 0.2 * small:
                    out.append(f"page {p.number}: {a.text!r} and {b.text!r} overlap")
    return out


def _header(page: Page) -> tuple[list[float], float] | None:
    """Left edges of the key-numbers columns and the header's bottom, if on this page."""
    words = reading_order(page.words)
    for i, w in enumerate(words):
        run = words[i : i + len(HEADER) + 1]
        if tuple(x.text for x in run[: len(HEADER)]) == HEADER and all(
            abs(x.y0 - w.y0) < 2.0 for x in run[: len(HEADER)]
        ):
            head = run[: len(HEADER)]
            extra = run[len(HEADER) :]
            if extra and extra[0].text == "reference" and abs(extra[0].y0 - w.y0) < 2.0:
                head.append(extra[0])
            starts = [head[k].x0 for k in (0, 1, 2, 3, 6) if k < len(head)]
            return starts, max(x.y1 for x in head)
    return None


def table_problems(pages: list[Page], rows: list[dict], margin: float) -> list[str]:
    """Each key-numbers cell holds its text: no word crosses into the next column, and
    each column reads exactly as its cells' text (``rows``: ``key_rows``), row after row."""
    if not rows:
        return []
    found = None
    for p in pages:
        if (h := _header(p)) is not None:
            found = p, h
            break
    if found is None:
        return ["no key-numbers table header (measure, left, right, left versus right)"]
    first, (starts, top) = found
    body: list[Word] = []
    for p in pages[first.number - 1 :]:
        words = reading_order([w for w in p.words if p is not first or w.y0 > top])
        squeezed = [squeeze(w.text) for w in words]
        end = next(
            (i for i in range(len(words)) if squeezed[i : i + 3] == ["Values", "are", "the"]),
            None,
        )
        body += words[:end]
        if end is not None:
            break
    out = []
    cols: list[list[Word]] = [[] for _ in starts]
    for w in body:
        if w.x0 < starts[0] - TOL:
            out.append(f"{w.text!r} left of the table")
            continue
        i = max(k for k, s in enumerate(starts) if s <= w.x0 + TOL)
        edge = starts[i + 1] if i + 1 < len(starts) else first.width - margin
        if w.x1 > edge + TOL:
            out.append(f"{w.text!r} crosses the right edge of column {i} ({w.x1:.1f} > {edge:.1f})")
        cols[i].append(w)
    expected = [
        [plots.label_of(r["metric"]) for r in rows],
        [fmt(r["metric"], r["left"]) for r in rows],
        [fmt(r["metric"], r["right"]) for r in rows],
        [r["verdict"] for r in rows],
        [r["reference"] for r in rows],
    ]
    for i, words in enumerate(cols):
        got = squeeze("".join(w.text for w in reading_order(words)))
        want = squeeze("".join(expected[i]))
        if got != want:
            out.append(f"column {i} reads {got!r}, its cells hold {want!r}")
    return out


def text_problems(pages: list[Page], summary: Summary) -> list[str]:
    """The key numbers, the filming problems and 'How to read these numbers' are printed."""
    text = squeeze("".join(w.text for p in pages for w in reading_order(p.words)))
    wanted = ["Key numbers"]
    for message, advice in plain_flags(summary):
        wanted += [message, advice]
    if summary.notes or summary.measured_error:
        wanted += ["How to read these numbers", *summary.notes]
        wanted += measured_error_lines(summary)
    return [f"missing from the PDF: {t[:70]!r}" for t in wanted if t and squeeze(t) not in text]


def layout_problems(pdf: Path, summary: Summary) -> list[str]:
    """Everything wrong with a report PDF's layout; empty when it is fine."""
    pages = read_pages(pdf)
    margin = page_margin_pt()
    if not pages:
        return ["no pages"]
    return (
        margin_problems(pages, margin)
        + overlap_problems(pages)
        + table_problems(pages, key_rows(summary), margin)
        + text_problems(pages, summary)
    )


def _summary(folder: Path) -> Summary:
    return Summary.from_json(folder / "summary.json")


# --- the reports ---------------------------------------------------------------------------


@pytest.mark.slow  # the shared clips are analysed once (pose inference)
def test_bundled_sample_pdf_keeps_everything_on_the_page(all_clips_analyzed):
    shared = all_clips_analyzed / "front_goblet_squat_home_A_kneevision"
    src = Path(_summary(shared).input.path)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (src, BUNDLED)]
    assert digest[0] == digest[1], "the shared goblet squat is the bundled sample"
    summary = _summary(shared)
    assert key_rows(summary) and measured_error_lines(summary)  # the table and the error text
    assert layout_problems(shared / "report.pdf", summary) == []


@pytest.mark.slow  # the shared clips are analysed once (pose inference)
def test_pdf_of_every_shared_clip_passes_the_layout_test(all_clips_analyzed, shared_samples):
    folders = sorted(all_clips_analyzed.glob("*_kneevision"))
    assert len(folders) == len(list(shared_samples.glob("*.mp4")))
    problems = {}
    for f in folders:
        assert (f / "report.pdf").is_file(), f.name  # `analyze` writes the reports
        if found := layout_problems(f / "report.pdf", _summary(f)):
            problems[f.name] = found[:5]
    assert problems == {}


# --- the checker and the engine ------------------------------------------------------------

VERDICT = "left is 1.0° higher; no published measurement error to judge it against"
ROWS = [{"metric": "peak_fppa_deg", "left": 1.0, "right": 2.0, "verdict": VERDICT, "reference": ""}]


def _table_page(spill: bool, verdict: str = VERDICT) -> str:
    """A key-numbers table in the report's CSS; ``spill`` sets narrow cells that never wrap."""
    fixed = (
        "<style>table{table-layout:fixed}th,td{white-space:nowrap}</style>"
        "<colgroup><col style='width:4%'><col><col><col></colgroup>"
        if spill
        else ""
    )
    line = "<p style='white-space:nowrap'>" + "advice " * 40 + "</p>" if spill else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{CSS}</style></head><body>"
        f"<h2>Key numbers</h2><table>{fixed}<tr><th>measure</th><th>left</th><th>right</th>"
        "<th>left versus right</th></tr><tr><td>peak FPPA</td><td class='num'>1.0°</td>"
        f"<td class='num'>2.0°</td><td>{verdict}</td></tr></table>"
        f"<p>Values are the mean.</p>{line}</body></html>"
    )


def test_the_checker_catches_spilled_cells_cut_text_and_lines_off_the_page(tmp_path):
    margin = page_margin_pt()
    good = read_pages(write_pdf(_table_page(spill=False), tmp_path / "good.pdf"))
    assert margin_problems(good, margin) + table_problems(good, ROWS, margin) == []
    bad = read_pages(write_pdf(_table_page(spill=True), tmp_path / "bad.pdf"))
    assert any("outside the margins" in p for p in margin_problems(bad, margin))
    assert any("right edge of column 0" in p for p in table_problems(bad, ROWS, margin))
    cut = read_pages(write_pdf(_table_page(False, VERDICT[:60]), tmp_path / "cut.pdf"))
    assert any("column 3 reads" in p for p in table_problems(cut, ROWS, margin))


def test_engine_fetches_nothing(tmp_path, monkeypatch):
    opened: list[str] = []
    real = urllib.request.OpenerDirector.open

    def spy(self, url, *args, **kwargs):
        opened.append(url if isinstance(url, str) else url.full_url)
        return real(self, url, *args, **kwargs)

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", spy)
    dot = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
        "nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
    )
    html = (
        "<html><head><link rel='stylesheet' href='http://127.0.0.1:9/a.css'>"
        "<link rel='stylesheet' href='/etc/hostname'></head><body>"
        f"<img src='{dot}'><img src='https://example.invalid/x.png'>"
        "<img src='overlay.png'><a href='overlay.mp4'>video</a></body></html>"
    )
    pdf = html_to_pdf(html, base_url=tmp_path)
    assert pdf.startswith(b"%PDF")
    assert opened and all(u.startswith("data:") for u in opened), opened


def test_missing_engine_is_one_clear_line_and_leaves_the_old_pdf(tmp_path, monkeypatch):
    import sys

    old = tmp_path / "report.pdf"
    old.write_bytes(b"%PDF old")
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint -> ImportError
    with pytest.raises(KneeVisionError) as err:
        write_pdf("<p>x</p>", old)
    assert "\n" not in str(err.value) and "pip install" in str(err.value)
    assert old.read_bytes() == b"%PDF old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]

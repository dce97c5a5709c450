"""``report.pdf`` printed from the same HTML as ``report.html``, with WeasyPrint.

The PDF is the HTML report laid out for print by a maintained HTML-to-PDF engine,
so the printed report looks like the page and the browser's line breaking, table
layout and page breaking (``@page`` and ``@media print`` rules in the report's CSS)
replace the hand layout that used to cut table text and run advice off the page.

Why WeasyPrint rather than headless Chromium's print-to-PDF: measured on the
bundled sample (``front_goblet_squat_home_A``, 3 A4 pages, 2 cores):

=================  =============================  ===============================
..                 WeasyPrint 70                  Chromium 150 ``--print-to-pdf``
=================  =============================  ===============================
time per report    0.3 s (0.6-1.0 s first call)   1.3-1.7 s (starts a browser)
output size        170 kB                         191-195 kB
fidelity           the page's layout, ``@page``   the same layout, page for page;
                   honoured; passes the layout    passes the layout test too
                   test (tests/report)
install            ``pip`` (+ Pango, packaged     a 340 MB browser, which
                   by every distribution)         ``pip`` users do not have
=================  =============================  ===============================

WeasyPrint is a pure-Python library installed with the package, runs in process
(no subprocess, no browser profile, no sandbox flags) and takes a URL fetcher, so
the engine provably fetches nothing: the report embeds its images as ``data:``
URIs and every other URL (``http``, ``file``, ...) is refused.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kneevision.errors import KneeVisionError
from kneevision.outputs import atomic_file

#: The only URL scheme the engine may open: images embedded in the HTML.
ALLOWED_SCHEMES = frozenset({"data"})

MISSING = (
    "report.pdf needs WeasyPrint and the Pango library: pip install 'weasyprint>=68' "
    "(Pango: apt install libpango-1.0-0, brew install pango)"
)


def _engine():
    """The ``weasyprint`` module, or a one-line error saying how to install it."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the Pango/GObject libraries are missing
        raise KneeVisionError(f"{MISSING} ({type(exc).__name__}: {exc})".splitlines()[0]) from None
    if not hasattr(weasyprint, "URLFetcher"):
        raise KneeVisionError(f"{MISSING} (found WeasyPrint {weasyprint.__version__})")
    return weasyprint


def html_to_pdf(html: str, base_url: str | Path | None = None) -> bytes:
    """Lay out an HTML document on A4 pages and return the PDF.

    Parameters
    ----------
    html : str
        A self-contained document (images as ``data:`` URIs); its CSS sets ``@page``.
    base_url : str or Path, optional
        Where relative links (such as ``overlay.mp4``) point in the PDF; never fetched.

    Raises
    ------
    KneeVisionError
        WeasyPrint (or the Pango library it uses) is not installed.
    """
    weasyprint = _engine()
    fetcher = weasyprint.URLFetcher(allowed_protocols=ALLOWED_SCHEMES, timeout=1)
    base = None if base_url is None else Path(base_url).resolve().as_uri() + "/"
    # Refused URLs are logged by WeasyPrint as warnings; keep them out of the user's console.
    log = logging.getLogger("weasyprint")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        doc = weasyprint.HTML(string=html, base_url=base, url_fetcher=fetcher, media_type="print")
        return doc.write_pdf()
    finally:
        log.setLevel(level)


def write_pdf(html: str, path: str | Path, base_url: str | Path | None = None) -> Path:
    """Write :func:`html_to_pdf` of ``html`` to ``path`` atomically (temp file, then rename).

    Returns
    -------
    Path
        The PDF file.
    """
    path = Path(path)
    pdf = html_to_pdf(html, base_url)  # render first: a failure leaves no temp file behind
    with atomic_file(path) as tmp:
        tmp.write_bytes(pdf)
    return path

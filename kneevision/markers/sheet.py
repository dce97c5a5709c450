"""The printable marker sheet: A4 at true scale, with a scale bar to check the printer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from kneevision.markers.core import MARKER_IDS, marker_image
from kneevision.outputs import atomic_file

A4_MM = (210.0, 297.0)
MM_PER_IN = 25.4


def _mm_axes(fig: Figure, x_mm: float, y_mm: float, w_mm: float, h_mm: float):
    """Axes placed in millimetres from the page's bottom-left corner."""
    W, H = A4_MM
    ax = fig.add_axes((x_mm / W, y_mm / H, w_mm / W, h_mm / H))
    ax.set_axis_off()
    return ax


def _page(title: str, lines: list[str]) -> Figure:
    """An A4 figure with a bold title and a few lines of instructions under it."""
    W, H = A4_MM
    fig = Figure(figsize=(W / MM_PER_IN, H / MM_PER_IN))
    fig.text(15 / W, 1 - 16 / H, title, fontsize=14, weight="bold")
    for i, text in enumerate(lines):
        fig.text(15 / W, 1 - (22 + 4.5 * i) / H, text, fontsize=8.5)
    return fig


def _image_mm(fig: Figure, image: np.ndarray, x: float, y: float, w: float, h: float) -> None:
    """Draw a grey image into a box given in millimetres, pixel edges kept sharp."""
    ax = _mm_axes(fig, x, y, w, h)
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest", extent=(0, 1, 0, 1))


def _scale_bar(fig: Figure, x: float, y: float, text: str) -> None:
    """An exactly 50 mm black bar (3 mm high) with ``text`` above it."""
    W, H = A4_MM
    bar = _mm_axes(fig, x, y, 50, 3)
    bar.add_patch(Rectangle((0, 0), 1, 1, color="black"))
    bar.set_xlim(0, 1)
    bar.set_ylim(0, 1)
    fig.text(x / W, (y + 5) / H, text, fontsize=8)


def _save(fig: Figure, path: str | Path) -> Path:
    """Write the one-page PDF atomically."""
    path = Path(path)
    with atomic_file(path) as tmp, PdfPages(tmp) as pdf:
        pdf.savefig(fig)
    return path


def write_sheet(path: str | Path, size_mm: float = 40.0) -> Path:
    """Write the A4 PDF: the four markers at ``size_mm``, their ids and places, a 50 mm bar.

    Parameters
    ----------
    path : path
        PDF file to write.
    size_mm : float
        Printed side of each marker's black square, in millimetres (30–50 works).
    """
    if not 15 <= size_mm <= 80:
        raise ValueError("marker size must be between 15 and 80 mm")
    W, H = A4_MM
    fig = _page(
        "KneeVision markers for the seated twist test",
        [
            f"Print at 100% (no 'fit to page'). Each black square is {size_mm:g} mm wide: "
            "check with the bar below."
        ],
    )
    quiet = size_mm / 6  # white margin the detector needs; cut along the grey frame
    cell = size_mm + 2 * quiet
    for k, (marker_id, (side, segment)) in enumerate(MARKER_IDS.items()):
        col, row = k % 2, k // 2
        x = 20 + col * (W / 2 - 10)
        y = H - 32 - (row + 1) * (cell + 14)  # 14 mm under each marker for its label
        _image_mm(fig, marker_image(marker_id, 600), x + quiet, y + quiet, size_mm, size_mm)
        frame = _mm_axes(fig, x, y, cell, cell)
        frame.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor="0.6", lw=0.6, ls="--"))
        frame.set_xlim(0, 1)
        frame.set_ylim(0, 1)
        fig.text(x / W, (y - 5) / H, f"id {marker_id}: {side} {segment}", fontsize=9,
                 weight="bold")  # fmt: skip
        fig.text(x / W, (y - 10) / H, "top ↑ toward the hip; cut along the dashed line",
                 fontsize=7)  # fmt: skip
    _scale_bar(fig, 20, 62.0, "50 mm: measure this bar; if it is not 50 mm, the printer "
               "rescaled the page")  # fmt: skip
    steps = [
        "1. Sit on a chair, knee bent at a right angle, foot flat, facing the camera.",
        "2. Shin marker (id 0 left, 2 right): on the flat front of the shin, just below the "
        "bump under the kneecap (tibial tuberosity).",
        "3. Thigh marker (id 1 left, 3 right): on the front of the thigh, a hand's width "
        "above the kneecap.",
        "4. Tape each flat and upright, its top toward the hip; do not cover the black "
        "square or its white margin.",
        "5. Film from the front with the phone about 1 m high, 0.8 m from the knees, looking "
        "down at them.",
        "6. Both markers in view (the thigh one faces up)? Hold still, then twist the foot in "
        "and out, thigh still.",
    ]
    for i, text in enumerate(steps):
        fig.text(20 / W, (48 - 6 * i) / H, text, fontsize=7.5)
    # a drawing: seated leg seen from the front with the two marker places
    draw = _mm_axes(fig, 155, 52, 35, 42)
    draw.plot([0.5, 0.5], [0.95, 0.55], color="0.3", lw=6, solid_capstyle="round")  # thigh
    draw.plot([0.5, 0.5], [0.5, 0.1], color="0.3", lw=5, solid_capstyle="round")  # shin
    draw.plot([0.38, 0.7], [0.06, 0.06], color="0.3", lw=4, solid_capstyle="round")  # foot
    draw.add_patch(Rectangle((0.43, 0.66), 0.14, 0.1, color="#0072B2"))
    draw.add_patch(Rectangle((0.43, 0.33), 0.14, 0.1, color="#E69F00"))
    draw.text(0.62, 0.7, "thigh", fontsize=7)
    draw.text(0.62, 0.37, "shin", fontsize=7)
    draw.set_xlim(0, 1)
    draw.set_ylim(0, 1)
    return _save(fig, path)


def write_board(path: str | Path, square_mm: float = 30.0) -> Path:
    """Write the A4 ChArUco calibration board (PDF, true scale) with a 50 mm check bar.

    Parameters
    ----------
    path : path
        PDF file to write.
    square_mm : float
        Printed side of each chessboard square (the board must fit on A4).
    """
    from kneevision.markers.calibration import BOARD_SQUARES, board_image

    cols, rows = BOARD_SQUARES
    if not 10 <= square_mm <= 36:
        raise ValueError("square size must be between 10 and 36 mm to fit on A4")
    W = A4_MM[0]
    fig = _page(
        "KneeVision camera calibration board",
        [
            f"Print at 100%; squares are {square_mm:g} mm. Glue it flat on card. Film it with "
            "the phone you test with, at the same zoom,",
            "tilting it slowly in all directions for 20 s, then run: "
            f"kneevision markers calibrate CLIP --square-mm {square_mm:g}",
        ],
    )
    bw, bh = cols * square_mm, rows * square_mm
    _image_mm(fig, board_image(square_mm), (W - bw) / 2, 42.0, bw, bh)
    _scale_bar(fig, 20, 20, "50 mm: measure this bar; if it is not 50 mm, pass the measured "
               "square size with --square-mm")  # fmt: skip
    return _save(fig, path)

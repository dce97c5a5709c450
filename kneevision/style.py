"""One visual style for every output: plots, overlay video and live view.

Side colours are from the Okabe–Ito palette, distinguishable with the common
colour-vision deficiencies: left = blue, right = orange (vermillion for warnings).
"""

from __future__ import annotations

#: Matplotlib colours (hex) per side.
SIDE_COLORS: dict[str, str] = {"left": "#0072B2", "right": "#E69F00"}
WARNING_COLOR = "#D55E00"
NEUTRAL_COLOR = "#555555"


def hex_to_bgr(color: str) -> tuple[int, int, int]:
    """``#RRGGBB`` → OpenCV BGR tuple."""
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return (b, g, r)


#: OpenCV (BGR) colours per side, for overlays.
SIDE_BGR: dict[str, tuple[int, int, int]] = {s: hex_to_bgr(c) for s, c in SIDE_COLORS.items()}
WARNING_BGR = hex_to_bgr(WARNING_COLOR)

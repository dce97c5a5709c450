"""What the benchmark scripts share."""

from __future__ import annotations

import json


def print_figures(result: dict) -> None:
    """Print figures one per line, aligned, then the same as one JSON line."""
    width = max(map(len, result))
    for k, v in result.items():
        print(f"{k:<{width}}  {v}")
    print(json.dumps(result))

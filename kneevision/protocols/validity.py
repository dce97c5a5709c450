"""The error each metric was measured to have, on rendered video of known truth.

``validity.json`` beside this module is written by ``kneevision validate --publish``
from the validity table (:mod:`kneevision.digital_human.validate`): per protocol,
view and metric, the median and 95th-percentile absolute error over the rendered
clips filmed as the advice says. The analysis copies the entries for its clip's
protocol and view into ``summary.json`` and the report states them beside the values.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("validity.json")


@dataclass(frozen=True)
class MeasuredError:
    """One metric's error on rendered clips (units of the metric)."""

    median_abs: float
    p95_abs: float
    bias: float
    n: int
    clips: int

    def to_dict(self) -> dict:
        """Plain-dict form (for summary.json)."""
        return asdict(self)


@lru_cache(maxsize=1)
def _table(path: Path = TABLE) -> dict:
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def measured_errors(protocol: str, view: str) -> dict[str, MeasuredError]:
    """Metric → its measured error for this protocol seen from this view ({} if unmeasured)."""
    entry = _table().get("errors", {}).get(protocol, {}).get(view, {})
    return {m: MeasuredError(**v) for m, v in entry.items()}


def source() -> str:
    """Where the figures come from (renders, version, date), for the report."""
    return str(_table().get("source", ""))

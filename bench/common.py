"""What the benchmark scripts share: nearest-rank percentiles, and how a script talks to the
process that started it (JSON lines on stdout, progress notes on stderr)."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank `q`th percentile of `values`."""
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[min(len(ordered) - 1, max(0, rank - 1))]


def emit(event: dict[str, Any]) -> None:
    """Print one JSON line on stdout, at once (the parent reads them as they come)."""
    print(json.dumps(event, separators=(",", ":")), flush=True)


def progress(text: str) -> None:
    """A progress note on stderr, so stdout keeps only the report."""
    print(text, file=sys.stderr, flush=True)

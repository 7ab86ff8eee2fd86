"""Shared by the benchmark scripts: interleaved timing, the Markdown table they print, option values."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence

import numpy as np


def interleaved(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall time in seconds of each function, timed in turn in each of ``repeats`` rounds after one
    warm-up round, so that changes in the machine's load touch all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for round_ in range(repeats + 1):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def print_table(rows: Sequence[tuple[str, str]]) -> None:
    """Print ``(figure, value)`` rows as a Markdown table with an aligned first column."""
    width = max(len(name) for name, _ in rows)
    print(f"| {'figure'.ljust(width)} | value |\n|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")


def parse_value(text: str) -> object:
    """A ``KEY=VALUE`` option's value: JSON (true, 1e-3, "x") or else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text

"""The scores of ``benchmarks.semisupervised``: stored one by one as they finish, so that an interrupted run
resumes (:class:`ResultStore`), and the final tables (:func:`tables`).

``<workdir>/results.json`` holds every finished (scenario, seed, method, protocol) score together with the run
settings it was measured under (steps, songs, loss weights...): a run with other settings in the same workdir
neither reuses nor overwrites them. Each score is written atomically (``Utils.write_json_atomic``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from Utils import CheckpointError, read_json, write_json_atomic

FORMAT_VERSION = 1
METHODS: tuple[str, str] = ("supervised", "semi-supervised")

Score = tuple[float, float]  # median test SDR over tracks, dB: (voice, accompaniment)


def settings_id(settings: dict) -> str:
    """A short, stable name of a settings dict (for the folders of its checkpoints and logs)."""
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


class ResultStore:
    """The finished scores in ``path`` (``results.json``), for one settings dict."""

    def __init__(self, path: Path, settings: dict) -> None:
        self.path, self.settings = Path(path), settings
        self.runs: list[dict] = []
        if self.path.is_file():
            data = read_json(self.path)
            if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
                raise CheckpointError(f"{self.path}: not a results file of this benchmark (format version "
                                      f"{FORMAT_VERSION}); use another --workdir")
            self.runs = list(data["runs"])

    def get(self, scenario: str, seed: int, method: str, protocol: str) -> Score | None:
        """The stored score of one run under this store's settings, or None."""
        for run in self.runs:
            if run["settings"] == self.settings and (run["scenario"], run["seed"], run["method"],
                                                     run["protocol"]) == (scenario, seed, method, protocol):
                return float(run["voice"]), float(run["accompaniment"])
        return None

    def put(self, scenario: str, seed: int, method: str, protocol: str, score: Score) -> None:
        """Store one finished score (replacing an earlier one of the same run and settings) atomically."""
        self.runs = [run for run in self.runs if not (
            run["settings"] == self.settings and (run["scenario"], run["seed"], run["method"], run["protocol"]) ==
            (scenario, seed, method, protocol))]
        self.runs.append({"settings": self.settings, "scenario": scenario, "seed": seed, "method": method,
                          "protocol": protocol, "voice": score[0], "accompaniment": score[1]})
        write_json_atomic(self.path, {"version": FORMAT_VERSION, "runs": self.runs})


# (scenario, protocol, method) -> {seed: score}
Scores = dict[tuple[str, str, str], dict[int, Score]]


def _mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.2f} ± {np.std(values):.2f}"


def _gain(differences: list[float]) -> str:
    """``+0.25; 2 of 3``: the mean difference and the number of seeds that improved (as rounded for print, so
    that a tie shown as +0.00 does not count)."""
    improved = sum(round(d, 2) > 0 for d in differences)
    return f"{np.mean(differences):+.2f}; {improved} of {len(differences)}"


def tables(scores: Scores) -> str:
    """Markdown: mean ± std over seeds per (scenario, protocol, method), then the per-seed differences
    semi-supervised minus supervised (dB) per scenario and protocol, and how many seeds improved."""
    lines = ["| scenario | protocol | method | voice SDR (dB) | accompaniment SDR (dB) | seeds |",
             "| --- | --- | --- | --- | --- | --- |"]
    for (scenario, protocol, method), by_seed in scores.items():
        values = list(by_seed.values())
        lines.append(f"| {scenario} | {protocol} | {method} | {_mean_std([v[0] for v in values])} | "
                     f"{_mean_std([v[1] for v in values])} | {len(values)} |")
    differences = []
    for scenario, protocol in dict.fromkeys((s, p) for s, p, _ in scores):
        sup, semi = (scores.get((scenario, protocol, method), {}) for method in METHODS)
        seeds = sorted(sup.keys() & semi.keys())
        voice, acc = ([semi[seed][i] - sup[seed][i] for seed in seeds] for i in (0, 1))
        differences += [f"| {scenario} | {protocol} | {seed} | {v:+.2f} | {a:+.2f} |"
                        for seed, v, a in zip(seeds, voice, acc, strict=True)]
        if seeds:
            differences.append(f"| {scenario} | {protocol} | mean; improved | {_gain(voice)} | {_gain(acc)} |")
    if differences:
        lines += ["", "Semi-supervised minus supervised, per seed (dB):", "",
                  "| scenario | protocol | seed | voice Δ | accompaniment Δ |", "| --- | --- | --- | --- | --- |",
                  *differences]
    return "\n".join(lines)

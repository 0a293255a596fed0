"""Pause metrics from a benchmark's pause log: minimum mutator utilization (MMU) and pause
percentiles per collection kind. Pure functions, no I/O beyond parsing text; used by
tools/bench_gc.py and checked by tools/gc_pauses_test.py.

The pause log (bench/common.hpp, PauseTimeline) is text: a line `span_us <run length>`,
then one line per pause `<kind> <start_us> <duration_us>`, starts measured from the start
of the run. Kinds are free-form words: whatever kinds a log holds are reported, so a new
kind of pause (remark, increment) needs no change here.

MMU(w) (Cheng and Blelloch, 2001) is the least fraction of any window of length w inside
the run during which the mutator ran: 1 - max over t of GC(t, t + w) / w, where GC(a, b)
is the pause time inside [a, b]. A curve over w says what a latency budget can expect:
MMU(10 ms) = 0.7 means every 10 ms of the run gave the program at least 7 ms.
"""
from __future__ import annotations

import bisect
import math
import statistics

# Windows from 1 ms to 1 s, 8 a decade (1, 1.33, 1.78, 2.37, 3.16, ... ms): the decades
# themselves (the table's columns) are exact, indices 0, 8, 16 and 24.
WINDOWS_MS = [10 ** (i / 8) for i in range(25)]
TABLE_WINDOWS_MS = [1, 10, 100, 1000]

# Kinds in the order reports list them; kinds not named here follow, alphabetically.
KIND_ORDER = ["minor", "major", "compact", "remark", "increment", "full"]

PERCENTILES = [50, 90, 99]


def parse_log(text: str) -> tuple[float | None, list[tuple[str, float, float]]]:
    """(span_us, [(kind, start_us, duration_us), ...]) from a pause log; span None if absent.
    Blank lines and lines starting with '#' are ignored; a malformed line raises ValueError."""
    span = None
    pauses = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if fields[0] == "span_us" and len(fields) == 2:
            span = float(fields[1])
        elif len(fields) == 3:
            pauses.append((fields[0], float(fields[1]), float(fields[2])))
        else:
            raise ValueError(f"pause log line {number}: expected 'kind start_us duration_us', "
                             f"got {line!r}")
    return span, pauses


class Timeline:
    """Pauses as disjoint, sorted intervals (overlapping ones are merged: time the mutator
    was stopped counts once) with prefix sums, so that the pause time before any instant
    is one binary search away."""

    def __init__(self, intervals: list[tuple[float, float]], span: float):
        merged: list[list[float]] = []
        for start, duration in sorted(intervals):
            end = start + max(duration, 0.0)
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [s for s, _ in merged]
        self.ends = [e for _, e in merged]
        self.before = [0.0]  # before[i]: pause time of intervals 0..i-1
        for s, e in merged:
            self.before.append(self.before[-1] + e - s)
        self.span = span

    def paused_until(self, x: float) -> float:
        """Pause time in [0, x]."""
        i = bisect.bisect_right(self.starts, x) - 1
        if i < 0:
            return 0.0
        return self.before[i] + min(x, self.ends[i]) - self.starts[i]

    def paused_in(self, a: float, b: float) -> float:
        return self.paused_until(b) - self.paused_until(a)


def mmu(timeline: Timeline, window: float) -> float | None:
    """Exact MMU for one window length (same unit as the timeline); None when the window
    is longer than the run (no window of that length fits in it) or not positive.

    The pause time in [t, t + w] is piecewise linear in t, rising while only the window's
    end is in a pause and falling while only its start is. A maximum is where it stops
    rising and, walking on along any flat stretch after it, where it starts falling: the
    start entering a pause, or the end of the range t in [0, span - w]. So the candidates
    are the pause starts and the two ends of the range, each evaluated in O(log n)."""
    if window <= 0 or window > timeline.span:
        return None
    last = timeline.span - window
    candidates = [0.0, last] + [s for s in timeline.starts if 0.0 <= s <= last]
    worst = max(timeline.paused_in(t, t + window) for t in candidates)
    return max(0.0, 1.0 - min(worst, window) / window)


def mmu_curve(span_us: float, pauses: list[tuple[str, float, float]],
              windows_ms: list[float] = WINDOWS_MS) -> list[float | None]:
    """MMU at each window (ms) over all kinds of pause."""
    timeline = Timeline([(start, duration) for _, start, duration in pauses], span_us)
    return [mmu(timeline, w * 1e3) for w in windows_ms]


def percentile(values: list[float], p: float) -> float:
    """Nearest rank (p in [0, 100]), as bench/common.hpp computes it: the ceil(p/100 * n)-th
    smallest value."""
    ordered = sorted(values)
    rank = min(max(math.ceil(p / 100 * len(ordered)), 1), len(ordered))
    return ordered[rank - 1]


def kind_stats(pauses: list[tuple[str, float, float]]) -> dict[str, dict[str, float]]:
    """Per kind, and over all pauses as "all": count, total_ms, p50_us, p90_us, p99_us,
    max_us. Kinds with no pause are absent ("all" is there, with count 0, even then)."""
    by_kind: dict[str, list[float]] = {}
    for kind, _, duration in pauses:
        by_kind.setdefault(kind, []).append(duration)
    by_kind["all"] = [d for _, _, d in pauses]
    out = {}
    for kind, durations in by_kind.items():
        s = {"count": len(durations), "total_ms": sum(durations) / 1e3}
        for p in PERCENTILES:
            s[f"p{p}_us"] = percentile(durations, p) if durations else 0.0
        s["max_us"] = max(durations) if durations else 0.0
        out[kind] = s
    return out


def ordered_kinds(kinds) -> list[str]:
    """Known kinds in KIND_ORDER, then unknown ones alphabetically, then "all"."""
    kinds = set(kinds) - {"all"}
    known = [k for k in KIND_ORDER if k in kinds]
    return known + sorted(kinds - set(KIND_ORDER)) + ["all"]


def run_metrics(text: str) -> dict:
    """What one run's pause log says: {"span_ms", "windows_ms", "mmu", "kinds"}."""
    span, pauses = parse_log(text)
    if span is None:
        raise ValueError("pause log has no span_us line")
    return {"span_ms": span / 1e3, "windows_ms": WINDOWS_MS, "mmu": mmu_curve(span, pauses),
            "kinds": kind_stats(pauses)}


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def median_metrics(runs: list[dict]) -> dict | None:
    """Medians over runs of run_metrics results: MMU per window (the median of the runs'
    MMU at that window, over the runs long enough to have one), and per kind each figure's
    median over the runs (a run without pauses of a kind counts as 0 of them). None if no
    run has metrics."""
    runs = [r for r in runs if r]
    if not runs:
        return None
    windows = runs[0]["windows_ms"]
    curve = [_median([r["mmu"][i] for r in runs if i < len(r["mmu"])])
             for i in range(len(windows))]
    kinds = ordered_kinds({k for r in runs for k in r["kinds"]})
    empty = {"count": 0, "total_ms": 0.0, "max_us": 0.0,
             **{f"p{p}_us": 0.0 for p in PERCENTILES}}
    per_kind = {}
    for k in kinds:
        figures = [r["kinds"].get(k, empty) for r in runs]
        per_kind[k] = {f: _median([x[f] for x in figures]) for f in empty}
    return {"runs": len(runs), "span_ms": _median([r["span_ms"] for r in runs]),
            "windows_ms": windows, "mmu": curve, "kinds": per_kind}

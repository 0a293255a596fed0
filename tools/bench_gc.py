#!/usr/bin/env python3
"""Runs the GC comparison benchmarks (bench/{binary_trees,gcbench,churn,gc_micro}.cpp) and
writes build/bench/report.md, build/bench/results.json and SVG plots.

Every workload runs each variant in turn (A B C A B C ...) so that slow drift of the machine
hits every variant alike; figures are medians over the runs, ratios are against Boehm GC.

Usage: tools/bench_gc.py [--quick] [--runs N] [--bin build/release/bin] [--out build/bench]
       [--only WORKLOAD ...] [--no-micro]
       tools/bench_gc.py --sweep [--quick] [--runs N] ...   (the trade-off curves, sweep.md)
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import gc_pauses

VARIANTS_ALL = ["marrow", "boehm", "malloc", "pool", "arena"]

# name -> (binary, arguments, variants). Quick mode swaps in smaller arguments.
WORKLOADS_FULL = {
    "binary-trees": ("bench_binary_trees", ["21"], VARIANTS_ALL),
    "gcbench": ("bench_gcbench", [], VARIANTS_ALL),
    "gcbench-holes": ("bench_gcbench", ["--holes"], VARIANTS_ALL),
    "churn": ("bench_churn", [], ["marrow", "boehm", "malloc", "arena"]),
}
WORKLOADS_QUICK = {
    "binary-trees": ("bench_binary_trees", ["16"], VARIANTS_ALL),
    "gcbench": ("bench_gcbench", [], VARIANTS_ALL),
    "gcbench-holes": ("bench_gcbench", ["--holes"], VARIANTS_ALL),
    "churn": ("bench_churn", ["--ops", "2000000"], ["marrow", "boehm", "malloc", "arena"]),
}

# The targets marrow is held to (docs/performance.md). Each: workload, metric, variant
# compared with, bound on marrow/that, and whether it only means something at full size.
TARGETS = [
    ("binary-trees", "wall_ms", "boehm", 0.25, "binary-trees wall time vs Boehm"),
    ("binary-trees", "wall_ms", "malloc", 0.5, "binary-trees wall time vs malloc/free"),
    ("binary-trees", "wall_ms", "arena", 1.0, "binary-trees wall time vs arena"),
    ("binary-trees", "peak_rss_kb", "boehm", 0.5, "binary-trees peak RSS vs Boehm"),
    ("gcbench", "wall_ms", "boehm", 0.4, "GCBench total time vs Boehm"),
    ("gcbench", "pause_max_us", "boehm", 0.25, "GCBench max pause vs Boehm"),
    ("churn", "wall_ms", "boehm", 1.0, "churn wall time vs Boehm"),
]

METRICS = ["wall_ms", "cpu_ms", "peak_rss_kb", "collections", "pause_p50_us", "pause_p99_us",
           "pause_max_us"]


def log(msg: str) -> None:
    print(msg, flush=True)


def run_once(binary: Path, args: list[str], variant: str, timeout: float,
             pauses_out: Path | None, pause_log: Path | None = None) -> dict:
    cmd = [str(binary), "--variant", variant, *args]
    env = dict(os.environ)
    set_pause_log_env(env, pause_log)
    if pauses_out is not None:
        env["BENCH_PAUSES_OUT"] = str(pauses_out)
    else:
        env.pop("BENCH_PAUSES_OUT", None)
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s", "command": " ".join(cmd)}
    elapsed = time.monotonic() - start
    result = None
    output = []
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            try:
                result = json.loads(line[len("RESULT "):])
            except json.JSONDecodeError as e:
                return {"error": f"bad RESULT line: {e}", "command": " ".join(cmd)}
        else:
            output.append(line)
    if proc.returncode != 0 or result is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"error": f"exit {proc.returncode}: " + " / ".join(l.strip() for l in tail),
                "command": " ".join(cmd)}
    result["command"] = " ".join(cmd)
    result["process_s"] = elapsed
    # What the program printed besides RESULT (timings excluded) must agree across variants.
    result["output_signature"] = "\n".join(
        l for l in output if "msec" not in l and "Completed" not in l)
    attach_pause_metrics(result, pause_log)
    return result


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    errors = [r["error"] for r in runs if "error" in r]
    s = {"runs": len(runs), "ok": len(ok), "errors": errors,
         "distinct_errors": sorted(set(errors))}
    for m in METRICS:
        s[m] = median([r.get(m) for r in ok])
    # The worst pause seen in any run, next to the median of the per-run maxima.
    maxima = [r.get("pause_max_us") for r in ok if r.get("pause_max_us") is not None]
    s["pause_max_worst_us"] = max(maxima) if maxima else None
    for extra in ("minor", "major", "compactions", "pause_total_ms", "peak_heap_bytes",
                  "heap_bytes"):
        s[extra] = median([r.get(extra) for r in ok])
    s["pause_metrics"] = gc_pauses.median_metrics([r.get("pause_metrics") for r in ok])
    return s


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


# ---- Machine description --------------------------------------------------------------

def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict:
    info = {"nproc": sh(["nproc"]), "kernel": platform.release()}
    for line in sh(["lscpu"]).splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache",
                   "Hypervisor vendor"):
            info[key] = value.strip()
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["MemTotal"] = line.split(":", 1)[1].strip()
    except OSError:
        pass
    info["compiler"] = sh(["g++", "--version"]).splitlines()[0] if sh(["g++", "--version"]) else ""
    info["bdw-gc"] = sh(["pkg-config", "--modversion", "bdw-gc"])
    return info


# ---- SVG plots ------------------------------------------------------------------------

PALETTE = {"marrow": "#1b7837", "boehm": "#b2182b", "malloc": "#2166ac", "pool": "#8073ac",
           "arena": "#e08214"}


def esc(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "&#124;"))


def svg_bars(path: Path, title: str, groups: list[str], series: list[str],
             values: dict, ylabel: str, reference: float | None = None) -> None:
    """Grouped bars: for each group (workload), one bar per series (variant)."""
    width, height = 120 + 130 * len(groups), 340
    left, bottom, top = 70, 60, 40
    plot_h = height - bottom - top
    vmax = max([v for v in values.values() if v is not None] + [reference or 0, 1e-9])
    vmax *= 1.15
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{esc(title)}</text>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 20}" y2="{top + plot_h}" stroke="black"/>',
           f'<text x="15" y="{top + plot_h / 2}" transform="rotate(-90 15 {top + plot_h / 2})" '
           f'text-anchor="middle">{esc(ylabel)}</text>']
    for i in range(6):
        v = vmax * i / 5
        y = top + plot_h - plot_h * i / 5
        out.append(f'<text x="{left - 5}" y="{y + 4}" text-anchor="end">{v:.2f}</text>')
        out.append(f'<line x1="{left}" y1="{y}" x2="{width - 20}" y2="{y}" stroke="#ddd"/>')
    if reference is not None:
        y = top + plot_h - plot_h * reference / vmax
        out.append(f'<line x1="{left}" y1="{y}" x2="{width - 20}" y2="{y}" stroke="#b2182b" '
                   f'stroke-dasharray="4,3"/>')
    bar_w = 110 / max(len(series), 1)
    for gi, g in enumerate(groups):
        x0 = left + 20 + gi * 130
        out.append(f'<text x="{x0 + 55}" y="{top + plot_h + 15}" text-anchor="middle">{esc(g)}</text>')
        for si, s in enumerate(series):
            v = values.get((g, s))
            if v is None:
                continue
            h = plot_h * v / vmax
            x = x0 + si * bar_w
            out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" '
                       f'height="{h:.1f}" fill="{PALETTE.get(s, "#999")}"><title>{esc(s)} '
                       f'{v:.3f}</title></rect>')
            out.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - h - 3:.1f}" '
                       f'text-anchor="middle" font-size="8">{v:.2f}</text>')
    for si, s in enumerate(series):
        x = left + 10 + si * 90
        out.append(f'<rect x="{x}" y="{height - 22}" width="10" height="10" '
                   f'fill="{PALETTE.get(s, "#999")}"/><text x="{x + 14}" y="{height - 13}">{esc(s)}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out))


def svg_log_frame(title: str, xs: list[float], x_label: str, y_label: str):
    """The frame of the log-x plots: a 640x360 SVG with `title`, the plot box, axis labels
    and a grid line per decade, the x axis spanning the whole decades around `xs`.
    Returns (svg lines, x_of, (width, height, left, top, pw, ph)), or None without data."""
    import math
    if not xs:
        return None
    width, height = 640, 360
    left, right, top, bottom = 70, 20, 40, 60
    pw, ph = width - left - right, height - top - bottom
    lo = 10 ** math.floor(math.log10(min(xs)))
    hi = 10 ** math.ceil(math.log10(max(xs)))
    if hi <= lo:
        hi = lo * 10

    def x_of(x):
        return left + pw * (math.log10(max(x, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{esc(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="black"/>',
           f'<text x="{left + pw / 2}" y="{height - 30}" text-anchor="middle">{x_label}</text>',
           f'<text x="15" y="{top + ph / 2}" transform="rotate(-90 15 {top + ph / 2})" '
           f'text-anchor="middle">{y_label}</text>']
    decade = lo
    while decade <= hi * 1.001:
        x = x_of(decade)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{top + ph + 14}" text-anchor="middle">{decade:g}</text>')
        decade *= 10
    return out, x_of, (width, height, left, top, pw, ph)


def svg_pause_cdf(path: Path, title: str, pauses: dict[str, list[float]]) -> None:
    """Cumulative distribution of pause times (log x axis, microseconds) per variant."""
    frame = svg_log_frame(title, [v for vs in pauses.values() for v in vs if v > 0],
                          "pause (µs, log scale)", "fraction of pauses ≤ x")
    if frame is None:
        return
    out, x_of, (width, height, left, top, pw, ph) = frame
    for i in range(5):
        y = top + ph - ph * i / 4
        out.append(f'<text x="{left - 5}" y="{y + 4}" text-anchor="end">{i / 4:.2f}</text>')
    for li, (variant, values) in enumerate(sorted(pauses.items())):
        values = sorted(v for v in values if v > 0)
        if not values:
            continue
        n = len(values)
        pts = [(x_of(values[0]), top + ph)]
        for i, v in enumerate(values):
            y = top + ph - ph * (i + 1) / n
            pts.append((x_of(v), pts[-1][1]))
            pts.append((x_of(v), y))
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        color = PALETTE.get(variant, "#999")
        out.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
        out.append(f'<rect x="{left + 10 + li * 150}" y="{height - 20}" width="10" height="10" '
                   f'fill="{color}"/><text x="{left + 24 + li * 150}" y="{height - 11}">'
                   f'{esc(variant)} ({n} pauses)</text>')
    out.append("</svg>")
    path.write_text("\n".join(out))


# ---- Pause metrics: mutator utilization and pauses per kind ---------------------------
# Every round of the collectors writes a pause log (bench/common.hpp, PauseTimeline);
# tools/gc_pauses.py turns each into an MMU curve and per-kind percentiles, kept in the
# run's result ("pause_metrics") so that --report-only needs no logs.

PAUSE_LOG_VARIANTS = ("marrow", "boehm")


def pause_log_path(out: Path, workload: str, variant: str, rnd: int) -> Path | None:
    if variant not in PAUSE_LOG_VARIANTS:
        return None
    return out / "pauses" / f"{workload}.{variant}.{rnd}.log"


def set_pause_log_env(env: dict, pause_log: Path | None) -> None:
    if pause_log is not None:
        pause_log.unlink(missing_ok=True)  # a failed run must not leave last time's log
        env["BENCH_PAUSE_LOG"] = str(pause_log)
    else:
        env.pop("BENCH_PAUSE_LOG", None)


def attach_pause_metrics(result: dict, pause_log: Path | None) -> None:
    if pause_log is None:
        return
    try:
        result["pause_metrics"] = gc_pauses.run_metrics(pause_log.read_text())
    except (OSError, ValueError) as e:
        result["pause_metrics_error"] = str(e)


def svg_mmu(path: Path, title: str, curves: dict[str, tuple[list[float], list]]) -> None:
    """MMU against window length (log x axis, ms) per variant: {variant: (windows, mmu)}."""
    frame = svg_log_frame(title, [w for ws, _ in curves.values() for w in ws],
                          "window (ms, log scale)", "minimum mutator utilization")
    if frame is None:
        return
    out, x_of, (width, height, left, top, pw, ph) = frame

    def y_of(u):
        return top + ph - ph * u

    for i in range(6):
        y = y_of(i / 5)
        out.append(f'<line x1="{left}" y1="{y}" x2="{left + pw}" y2="{y}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 5}" y="{y + 4}" text-anchor="end">{i / 5:.1f}</text>')
    for li, (variant, (ws, us)) in enumerate(curves.items()):
        color = PALETTE.get(variant, "#999")
        # A window longer than the run has no value: the line stops there.
        known = [(w, u) for w, u in zip(ws, us) if u is not None]
        if known:
            d = " ".join(f"{x_of(w):.1f},{y_of(u):.1f}" for w, u in known)
            out.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
            for w, u in known:
                out.append(f'<circle cx="{x_of(w):.1f}" cy="{y_of(u):.1f}" r="2" fill="{color}">'
                           f'<title>{esc(variant)} MMU({w:.3g} ms) = {u:.3f}</title></circle>')
        out.append(f'<rect x="{left + 10 + li * 150}" y="{height - 20}" width="10" height="10" '
                   f'fill="{color}"/><text x="{left + 24 + li * 150}" y="{height - 11}">'
                   f'{esc(variant)}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out))


def write_mmu_plots(out: Path, mode: str, workloads: list[str], summary: dict) -> None:
    for w in workloads:
        curves = {}
        for v in PAUSE_LOG_VARIANTS:
            m = summary[w].get(v, {}).get("pause_metrics")
            if m:
                curves[v] = (m["windows_ms"], m["mmu"])
        if curves:
            svg_mmu(out / f"mmu_{w}.svg",
                    f"{w}: minimum mutator utilization (median of {mode} rounds)", curves)


def pause_metrics_section(out: Path, workloads: dict, summary: dict) -> list[str]:
    """The report's MMU and per-kind pause tables, one pair per workload, and the plots."""
    have = [w for w in workloads
            if any(summary[w].get(v, {}).get("pause_metrics") for v in PAUSE_LOG_VARIANTS)]
    if not have:
        return []
    lines = ["## Mutator utilization and pauses per kind", "",
             "MMU(w), the minimum mutator utilization at window w, is the smallest share of "
             "any w-long stretch of the run that the program had to itself: 1 means no "
             "window that long lost any time to the collector, 0 that some pause lasted at "
             "least w. It is computed exactly from each run's pause log (every pause's start "
             "and length, `tools/gc_pauses.py`); the figure is the median over the rounds "
             "at each window. '–': the window is longer than the run. Pause kinds are "
             "marrow's `GcEvent::kind` (minor, major, compact) and Boehm's one kind, full "
             "(every collection marks the whole heap with the world stopped); a new kind "
             "of pause gets its own row ('all': every pause of the variant). Per kind, each figure is the median over the rounds "
             "of that round's figure (nearest-rank percentiles, µs).", ""]
    cols = [gc_pauses.WINDOWS_MS.index(float(w)) for w in gc_pauses.TABLE_WINDOWS_MS]
    for w in have:
        lines += [f"### {w}", "",
                  "| variant | run ms | " + " | ".join(
                      f"MMU {c:g} ms" if c < 1000 else f"MMU {c / 1000:g} s"
                      for c in gc_pauses.TABLE_WINDOWS_MS) + " |",
                  "|---|---:|" + "---:|" * len(cols)]
        for v in PAUSE_LOG_VARIANTS:
            m = summary[w].get(v, {}).get("pause_metrics")
            if m:
                lines.append(f"| {v} | {fmt(m['span_ms'])} | " + " | ".join(
                    fmt(m["mmu"][i], 3) for i in cols) + " |")
        lines += ["", "| variant | kind | pauses | total ms | p50 µs | p90 µs | p99 µs | max µs |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for v in PAUSE_LOG_VARIANTS:
            m = summary[w].get(v, {}).get("pause_metrics")
            if not m:
                continue
            for kind, k in m["kinds"].items():
                if kind == "all" and len(m["kinds"]) == 2:
                    continue  # one kind: "all" would repeat its row
                lines.append(f"| {v} | {kind} | {fmt(k['count'], 0)} | {fmt(k['total_ms'])} | "
                             f"{fmt(k['p50_us'])} | {fmt(k['p90_us'])} | {fmt(k['p99_us'])} | "
                             f"{fmt(k['max_us'])} |")
        lines.append("")
        if (out / f"mmu_{w}.svg").exists():
            lines += [f"![minimum mutator utilization, {w}](mmu_{w}.svg)", ""]
    return lines


# ---- Report ---------------------------------------------------------------------------

def fmt(v, digits=1, suffix=""):
    if v is None:
        return "–"
    if isinstance(v, float) and abs(v) >= 1000:
        return f"{v:,.0f}{suffix}"
    return f"{v:.{digits}f}{suffix}"


def fmt_ratio(v):
    return "–" if v is None else f"{v:.2f}x"


def micro_rows(micro: dict | None) -> list[tuple[str, str, str]]:
    """(benchmark, figure, unit) rows from Google Benchmark's JSON."""
    rows = []
    if not micro:
        return rows
    for b in micro.get("benchmarks", []):
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            if b.get("error_occurred"):
                rows.append((b["name"], "error: " + b.get("error_message", "?"), ""))
            continue
        name = b["name"]
        if "items_per_second" in b and ("Alloc" in name or "Barrier" in name):
            rows.append((name, f"{1e9 / b['items_per_second']:.2f}", "ns/op"))
        elif "MinorPause" in name:
            unit = b.get("time_unit", "us")
            extra = f" (survived {b['survived_kb']:.0f} KiB)" if "survived_kb" in b else ""
            rows.append((name, f"{b['real_time']:.1f}{extra}", f"{unit} per minor GC"))
        elif "bytes_per_second" in b:
            rows.append((name, f"{b['bytes_per_second'] / (1 << 20):.0f}", "MiB/s"))
        else:
            rows.append((name, f"{b['real_time']:.2f}", b.get("time_unit", "ns")))
    return rows


def write_report(out: Path, mode: str, runs_per: int, mach: dict, workloads: dict,
                 summary: dict, signature_problems: list[str], micro: dict | None,
                 wall_s: float) -> str:
    lines = [f"# marrow GC benchmarks ({mode})", "",
             f"Generated {datetime.datetime.now().isoformat(timespec='seconds')} by "
             f"`tools/bench_gc.py` in {wall_s:.0f} s.", "",
             "## Machine", ""]
    for k, v in mach.items():
        lines.append(f"- {k}: {v}")
    lines += ["", "## Method", "",
              f"Each workload runs every variant in turn, {runs_per} rounds (A B C … A B C …); "
              "the figures are medians over the rounds. Wall and CPU time (all threads) and "
              "peak RSS (ru_maxrss) are measured by each program itself; pauses come from "
              "marrow's GcEvent::pause and Boehm's GC_EVENT_START..GC_EVENT_END. "
              "'max' is the median of the per-run maxima; 'worst' the largest of all runs. "
              "Ratios are the variant's median over Boehm's median (lower is better).", ""]
    for w, (binary, args, variants) in workloads.items():
        lines.append(f"## {w} (`{binary} {' '.join(args)}`)")
        lines.append("")
        lines.append("| variant | wall ms | CPU ms | peak RSS MiB | GCs | pause p50 µs | "
                     "p99 µs | max µs | worst µs | wall / Boehm | RSS / Boehm | max pause / Boehm |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        base = summary[w].get("boehm", {})
        for v in variants:
            s = summary[w].get(v)
            if s is None:
                continue
            if s["ok"] == 0:
                lines.append(f"| {v} | failed ({s['runs']} of {s['runs']} runs), see below |"
                             + " |" * 11)
                continue
            rss = s["peak_rss_kb"] / 1024 if s["peak_rss_kb"] is not None else None
            lines.append(
                f"| {v} | {fmt(s['wall_ms'])} | {fmt(s['cpu_ms'])} | {fmt(rss)} | "
                f"{fmt(s['collections'], 0)} | {fmt(s['pause_p50_us'])} | "
                f"{fmt(s['pause_p99_us'])} | {fmt(s['pause_max_us'])} | "
                f"{fmt(s['pause_max_worst_us'])} | "
                f"{fmt_ratio(ratio(s['wall_ms'], base.get('wall_ms')))} | "
                f"{fmt_ratio(ratio(s['peak_rss_kb'], base.get('peak_rss_kb')))} | "
                f"{fmt_ratio(ratio(s['pause_max_us'], base.get('pause_max_us')))} |")
        m = summary[w].get("marrow")
        if m and m["ok"] and m.get("minor") is not None:
            lines.append("")
            lines.append(f"marrow: {fmt(m['minor'], 0)} minor, {fmt(m['major'], 0)} major "
                         f"({fmt(m.get('compactions'), 0)} compacting) collections, "
                         f"{fmt(m['pause_total_ms'])} ms paused in total, peak heap "
                         f"{fmt((m['peak_heap_bytes'] or 0) / (1 << 20))} MiB.")
        for v in variants:
            s = summary[w].get(v, {})
            for e in s.get("distinct_errors", []):
                n = s["errors"].count(e)
                lines.append("")
                message = e.replace("`", "'")
                lines.append(f"Failed: {v}, {n} of {s['runs']} runs: `{message}`")
        lines.append("")
        if (out / f"pauses_{w}.svg").exists():
            lines.append(f"![pause distribution, {w}](pauses_{w}.svg)")
            lines.append("")

    lines += pause_metrics_section(out, workloads, summary)
    lines += ["## Targets", ""]
    if mode != "full":
        lines.append("Quick mode runs smaller problems: the targets are stated for the full "
                     "sizes, so these ratios are indicative only.")
        lines.append("")
    lines.append("| target | marrow / other | bound | met |")
    lines.append("|---|---:|---:|---|")
    for w, metric, other, bound, label in TARGETS:
        m = summary.get(w, {}).get("marrow", {})
        o = summary.get(w, {}).get(other, {})
        r = ratio(m.get(metric), o.get(metric))
        met = "–" if r is None else ("yes" if r <= bound else "**no**")
        lines.append(f"| {label} | {fmt_ratio(r)} | ≤ {bound}x | {met} |")
    lines.append("")
    if signature_problems:
        lines += ["## Output mismatches", ""] + [f"- {esc(p)}" for p in signature_problems] + [""]

    lines += ["## Time and memory per variant", "",
              "![wall time relative to Boehm](time.svg)", "",
              "![peak RSS relative to Boehm](rss.svg)", ""]

    rows = micro_rows(micro)
    lines += ["## Micro-benchmarks (`bench_gc_micro`)", ""]
    if rows:
        lines += ["| benchmark | figure | unit |", "|---|---:|---|"]
        lines += [f"| {esc(n)} | {f} | {u} |" for n, f, u in rows]
    else:
        lines.append("Not run or no results.")
    lines.append("")
    text = "\n".join(lines)
    (out / "report.md").write_text(text)
    return text


def check_outputs(all_runs: dict) -> list[str]:
    """Every variant must print the same thing (check sums, tree counts)."""
    problems = []
    for w, per in all_runs.items():
        sigs: dict[str, set] = {}
        for v, rs in per.items():
            for r in rs:
                if "output_signature" in r:
                    sigs.setdefault(r["output_signature"], set()).add(v)
        if len(sigs) > 1:
            problems.append(f"{w}: variants disagree on their output: " +
                            " / ".join(sorted(",".join(sorted(vs)) for vs in sigs.values())))
    return problems


def run_micro(bindir: Path, out: Path, quick: bool, timeout: float) -> dict | None:
    micro_json = out / "gc_micro.json"
    cmd = [str(bindir / "bench_gc_micro"), f"--benchmark_out={micro_json}",
           "--benchmark_out_format=json"]
    if quick:
        # The 64 MiB heaps take most of the time; quick mode keeps the 16 MiB ones.
        cmd += ["--benchmark_min_time=0.05", "--benchmark_filter=-/64"]
    else:
        cmd += ["--benchmark_min_time=0.5"]
    log("  bench_gc_micro ...")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        log(f"  bench_gc_micro failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    if micro_json.exists():
        try:
            return json.loads(micro_json.read_text())
        except json.JSONDecodeError:
            return None
    return None


def render(out: Path, mode: str, runs_per: int, workloads: dict, all_runs: dict,
           micro: dict | None, problems: list[str], elapsed: float, mach: dict) -> dict:
    """Summaries, plots, report.md and results.json from the raw runs."""
    summary = {w: {v: summarize(rs) for v, rs in per.items()} for w, per in all_runs.items()}
    groups = list(workloads)
    series = [v for v in VARIANTS_ALL if any(v in vs for _, _, vs in workloads.values())]
    rel_time, rel_rss = {}, {}
    for w in groups:
        base = summary[w].get("boehm", {})
        for v in series:
            s = summary[w].get(v)
            if s:
                rel_time[(w, v)] = ratio(s["wall_ms"], base.get("wall_ms"))
                rel_rss[(w, v)] = ratio(s["peak_rss_kb"], base.get("peak_rss_kb"))
    svg_bars(out / "time.svg", f"Median wall time relative to Boehm GC ({mode})", groups, series,
             rel_time, "wall time / Boehm", reference=1.0)
    svg_bars(out / "rss.svg", f"Median peak RSS relative to Boehm GC ({mode})", groups, series,
             rel_rss, "peak RSS / Boehm", reference=1.0)
    for w in groups:
        pauses = {}
        for v in ("marrow", "boehm"):
            f = out / "pauses" / f"{w}.{v}.txt"
            if f.exists():
                pauses[v] = [int(x) / 1000 for x in f.read_text().split()]
        if pauses:
            svg_pause_cdf(out / f"pauses_{w}.svg", f"{w}: collection pauses (last round)", pauses)
    write_mmu_plots(out, mode, groups, summary)

    results = {"mode": mode, "rounds": runs_per, "machine": mach,
               "workloads": {w: {"binary": b, "args": a, "variants": vs}
                             for w, (b, a, vs) in workloads.items()},
               "summary": summary, "runs": all_runs, "micro": micro,
               "output_problems": problems, "elapsed_s": elapsed}
    (out / "results.json").write_text(json.dumps(results, indent=1))
    write_report(out, mode, runs_per, mach, workloads, summary, problems, micro, elapsed)
    return summary


# ---- The time-memory trade-off sweep (--sweep) ------------------------------------------
# Self-contained: its own runs, sweep.md and one SVG per workload, plus a section appended
# to report.md between markers (so it survives re-rendering the main report).

SWEEP_MARROW_TUNING = [0.25, 0.5, 1, 2, 4, 8]       # MARROW_HEAP_TUNING (the sqrt rule)
SWEEP_MARROW_GROWTH = [1.5, 2, 3]                   # MARROW_GROWTH_FACTOR with tuning 0
SWEEP_BOEHM_DIVISOR = [1, 2, 3, 5, 8]               # GC_FREE_SPACE_DIVISOR (Boehm's default 3)
SWEEP_SERIES = {"marrow": "#1b7837", "marrow-growth": "#7fbf7b", "boehm": "#b2182b"}
SWEEP_BEGIN, SWEEP_END = "<!-- sweep:begin -->", "<!-- sweep:end -->"


def sweep_points() -> list[tuple[str, str, str, dict]]:
    """(series, label, variant, environment) for every point of every curve."""
    points = [("marrow", f"tuning {t:g}", "marrow", {"MARROW_HEAP_TUNING": str(t)})
              for t in SWEEP_MARROW_TUNING]
    points += [("marrow-growth", f"growth {g:g}", "marrow",
                {"MARROW_HEAP_TUNING": "0", "MARROW_GROWTH_FACTOR": str(g)})
               for g in SWEEP_MARROW_GROWTH]
    points += [("boehm", f"divisor {d}", "boehm", {"GC_FREE_SPACE_DIVISOR": str(d)})
               for d in SWEEP_BOEHM_DIVISOR]
    return points


def run_with_env(binary: Path, args: list[str], variant: str, env: dict, timeout: float) -> dict:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return run_once(binary, args, variant, timeout, None)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def svg_tradeoff(path: Path, title: str, curves: dict[str, list[tuple[float, float, str]]]) -> None:
    """Wall time (y) against peak RSS (x), one polyline per series, points labelled."""
    width, height = 680, 420
    left, right, top, bottom = 70, 20, 40, 70
    pw, ph = width - left - right, height - top - bottom
    xs = [x for pts in curves.values() for x, _, _ in pts]
    ys = [y for pts in curves.values() for _, y, _ in pts]
    if not xs:
        return
    x0, x1 = 0.0, max(xs) * 1.1
    y0, y1 = 0.0, max(ys) * 1.1

    def px(x):
        return left + pw * (x - x0) / (x1 - x0)

    def py(y):
        return top + ph - ph * (y - y0) / (y1 - y0)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{esc(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="black"/>',
           f'<text x="{left + pw / 2}" y="{height - 35}" text-anchor="middle">peak RSS (MiB)</text>',
           f'<text x="15" y="{top + ph / 2}" transform="rotate(-90 15 {top + ph / 2})" '
           f'text-anchor="middle">wall time (ms)</text>']
    for i in range(6):
        xv, yv = x0 + (x1 - x0) * i / 5, y0 + (y1 - y0) * i / 5
        out.append(f'<text x="{px(xv):.1f}" y="{top + ph + 14}" text-anchor="middle">{xv:.0f}</text>')
        out.append(f'<text x="{left - 5}" y="{py(yv) + 4:.1f}" text-anchor="end">{yv:.0f}</text>')
        out.append(f'<line x1="{left}" y1="{py(yv):.1f}" x2="{left + pw}" y2="{py(yv):.1f}" stroke="#eee"/>')
    for li, (series, pts) in enumerate(curves.items()):
        color = SWEEP_SERIES.get(series, "#999")
        pts = sorted(pts)
        if len(pts) > 1:
            d = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y, _ in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        for x, y, label in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{color}">'
                       f'<title>{esc(series)} {esc(label)}: {x:.1f} MiB, {y:.0f} ms</title></circle>')
            out.append(f'<text x="{px(x) + 5:.1f}" y="{py(y) - 5:.1f}" font-size="9" '
                       f'fill="{color}">{esc(label)}</text>')
        out.append(f'<rect x="{left + 10 + li * 200}" y="{height - 20}" width="10" height="10" '
                   f'fill="{color}"/><text x="{left + 24 + li * 200}" y="{height - 11}">'
                   f'{esc(series)}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out))


def dominated_note(curves: dict[str, list[tuple[float, float, str]]]) -> list[str]:
    """For each Boehm point: a marrow point (either rule) both faster and smaller, or not."""
    notes = []
    ours = [p for s, pts in curves.items() if s.startswith("marrow") for p in pts]
    for x, y, label in sorted(curves.get("boehm", [])):
        better = [p for p in ours if p[0] <= x and p[1] <= y]
        if better:
            bx, by, bl = min(better, key=lambda p: p[1])
            notes.append(f"- Boehm {label} ({x:.1f} MiB, {y:.0f} ms): marrow {bl} is both "
                         f"smaller and faster ({bx:.1f} MiB, {by:.0f} ms).")
        else:
            smaller = [p for p in ours if p[0] <= x]
            hint = (f"; the fastest marrow point that is smaller is {min(smaller, key=lambda p: p[1])[2]}"
                    if smaller else "; no marrow point is as small")
            notes.append(f"- Boehm {label} ({x:.1f} MiB, {y:.0f} ms): **no** marrow point is "
                         f"both smaller and faster{hint}.")
    return notes


def run_sweep(opts, bindir: Path, out: Path) -> int:
    quick = opts.quick
    rounds = opts.runs or (2 if quick else 3)
    workloads = dict(WORKLOADS_QUICK if quick else WORKLOADS_FULL)
    if opts.only:
        workloads = {k: v for k, v in workloads.items() if k in opts.only}
    timeout = 300 if quick else 1200
    points = sweep_points()
    started = time.monotonic()
    raw: dict[str, dict[str, list[dict]]] = {w: {} for w in workloads}
    for rnd in range(rounds):
        for w, (binary, args, _) in workloads.items():
            for series, label, variant, env in points:
                r = run_with_env(bindir / binary, args, variant, env, timeout)
                raw[w].setdefault(f"{series}|{label}", []).append(r)
                status = r.get("error") or (f"{r['wall_ms']:9.1f} ms {r['peak_rss_kb'] / 1024:8.1f} MiB")
                log(f"  sweep [{rnd + 1}/{rounds}] {w:14s} {series:13s} {label:12s} {status}")
    mode = "quick" if quick else "full"
    lines = [f"## Time against memory: the sizing knobs swept ({mode}, {rounds} rounds)", "",
             "Each point is one setting: marrow's `MARROW_HEAP_TUNING` (the square-root rule), "
             "marrow's old rule (`MARROW_HEAP_TUNING=0`, `MARROW_GROWTH_FACTOR`) and Boehm's "
             "`GC_FREE_SPACE_DIVISOR`; medians of wall time and peak RSS over the rounds, "
             "all settings run in turn each round. Down and left is better (docs/tuning.md).", ""]
    summary = {}
    for w in workloads:
        curves: dict[str, list[tuple[float, float, str]]] = {}
        lines += [f"### {w}", "", "| series | setting | wall ms | peak RSS MiB |", "|---|---|---:|---:|"]
        for series, label, _, _ in points:
            runs = raw[w][f"{series}|{label}"]
            ok = [r for r in runs if "error" not in r]
            if not ok:
                lines.append(f"| {series} | {label} | failed | {esc(runs[0].get('error', '?'))} |")
                continue
            wall = median([r["wall_ms"] for r in ok])
            rss = median([r["peak_rss_kb"] for r in ok]) / 1024
            curves.setdefault(series, []).append((rss, wall, label))
            lines.append(f"| {series} | {label} | {fmt(wall)} | {fmt(rss)} |")
        summary[w] = curves
        svg_tradeoff(out / f"sweep_{w}.svg", f"{w}: wall time against peak RSS ({mode})", curves)
        lines += ["", f"![trade-off, {w}](sweep_{w}.svg)", ""] + dominated_note(curves) + [""]
    text = "\n".join(lines)
    (out / "sweep.md").write_text(text)
    (out / "sweep.json").write_text(json.dumps({"mode": mode, "rounds": rounds, "runs": raw,
                                                "curves": summary}, indent=1))
    report = out / "report.md"
    if report.exists():
        body = report.read_text()
        if SWEEP_BEGIN in body:
            body = body[:body.index(SWEEP_BEGIN)] + body[body.index(SWEEP_END) + len(SWEEP_END):]
        report.write_text(body.rstrip() + "\n\n" + SWEEP_BEGIN + "\n" + text + "\n" + SWEEP_END + "\n")
    log(f"bench_gc: sweep in {out / 'sweep.md'} ({time.monotonic() - started:.0f} s)")
    failed = any("error" in r for per in raw.values() for rs in per.values() for r in rs)
    return 1 if failed else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 rounds, smaller problems")
    ap.add_argument("--runs", type=int, help="rounds (default 5, quick 3)")
    ap.add_argument("--bin", default="build/release/bin")
    ap.add_argument("--out", default="build/bench")
    ap.add_argument("--only", nargs="*", help="workloads to run (default: all)")
    ap.add_argument("--variants", nargs="*", help="variants to run (default: all)")
    ap.add_argument("--no-micro", action="store_true")
    ap.add_argument("--report-only", action="store_true",
                    help="re-render report.md and the plots from OUT/results.json")
    ap.add_argument("--sweep", action="store_true",
                    help="sweep the sizing knobs (marrow, Boehm): sweep.md and sweep_*.svg")
    opts = ap.parse_args()

    started = time.monotonic()
    out = Path(opts.out)
    if opts.report_only:
        saved = json.loads((out / "results.json").read_text())
        workloads = {w: (d["binary"], d["args"], d["variants"]) for w, d in saved["workloads"].items()}
        render(out, saved["mode"], saved["rounds"], workloads, saved["runs"], saved.get("micro"),
               saved.get("output_problems", []), saved.get("elapsed_s", 0), saved["machine"])
        log(f"bench_gc: report in {out / 'report.md'}")
        return 0

    if opts.sweep:
        out.mkdir(parents=True, exist_ok=True)
        return run_sweep(opts, Path(opts.bin), out)

    quick = opts.quick
    mode = "quick" if quick else "full"
    runs_per = opts.runs or (3 if quick else 5)
    bindir = Path(opts.bin)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pauses").mkdir(exist_ok=True)
    workloads = dict(WORKLOADS_QUICK if quick else WORKLOADS_FULL)
    if opts.only:
        workloads = {k: v for k, v in workloads.items() if k in opts.only}
    if opts.variants:
        workloads = {k: (b, a, [v for v in vs if v in opts.variants])
                     for k, (b, a, vs) in workloads.items()}
    timeout = 300 if quick else 1200

    needed = {b for b, _, _ in workloads.values()} | (set() if opts.no_micro else {"bench_gc_micro"})
    missing = sorted(b for b in needed if not (bindir / b).exists())
    if missing:
        log(f"bench_gc: missing binaries in {bindir}: {', '.join(missing)} "
            "(cmake --build --preset release)")
        return 1

    all_runs: dict[str, dict[str, list[dict]]] = {w: {v: [] for v in vs} for w, (_, _, vs) in workloads.items()}
    for rnd in range(runs_per):
        for w, (binary, args, variants) in workloads.items():
            for v in variants:
                last = rnd == runs_per - 1
                pauses_out = out / "pauses" / f"{w}.{v}.txt" if last else None
                r = run_once(bindir / binary, args, v, timeout, pauses_out,
                             pause_log_path(out, w, v, rnd))
                r["round"] = rnd
                all_runs[w][v].append(r)
                if "error" in r:
                    log(f"  [{rnd + 1}/{runs_per}] {w:14s} {v:7s} FAILED: {r['error']}")
                else:
                    pmax = r.get("pause_max_us")
                    log(f"  [{rnd + 1}/{runs_per}] {w:14s} {v:7s} {r['wall_ms']:10.1f} ms wall "
                        f"{r['cpu_ms']:10.1f} ms cpu {r['peak_rss_kb'] / 1024:8.1f} MiB"
                        + (f"  max pause {pmax:9.1f} us" if pmax is not None else ""))

    problems = check_outputs(all_runs)
    for per in all_runs.values():
        for rs in per.values():
            for r in rs:
                r.pop("output_signature", None)
    micro = None if opts.no_micro else run_micro(bindir, out, quick, timeout)
    elapsed = time.monotonic() - started
    summary = render(out, mode, runs_per, workloads, all_runs, micro, problems, elapsed, machine())

    log("")
    log(f"{'workload':14s} {'variant':7s} {'wall ms':>10s} {'cpu ms':>10s} {'RSS MiB':>8s} "
        f"{'GCs':>6s} {'p99 us':>9s} {'max us':>9s} {'wall/Boehm':>10s}")
    for w in workloads:
        base = summary[w].get("boehm", {})
        for v in workloads[w][2]:
            s = summary[w][v]
            if not s["ok"]:
                log(f"{w:14s} {v:7s} failed: {s['distinct_errors'][0] if s['distinct_errors'] else '?'}")
                continue
            log(f"{w:14s} {v:7s} {s['wall_ms']:10.1f} {s['cpu_ms']:10.1f} "
                f"{s['peak_rss_kb'] / 1024:8.1f} {fmt(s['collections'], 0):>6s} "
                f"{fmt(s['pause_p99_us']):>9s} {fmt(s['pause_max_us']):>9s} "
                f"{fmt_ratio(ratio(s['wall_ms'], base.get('wall_ms'))):>10s}")
    for p in problems:
        log("OUTPUT MISMATCH: " + p)
    log(f"bench_gc: report in {out / 'report.md'}, raw results in {out / 'results.json'} "
        f"({elapsed:.0f} s)")
    failed = any(s["ok"] < s["runs"] for per in summary.values() for s in per.values())
    return 1 if (failed or problems) else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Renders a marrow GC trace (Chrome trace-event JSON, from Runtime::start_gc_trace or
`lox --gc-trace=PATH`) as an SVG timeline: one lane per collection kind with each
collection's phases stacked in colour, and the heap's committed and in-use bytes below.
Usage: tools/render_gc_trace.py TRACE.json OUT.svg [--title TEXT]"""
import argparse
import json
from html import escape

PHASE_COLOURS = {
    "verify": "#9e9e9e", "roots": "#8e44ad", "evacuate": "#2e86de", "mark": "#e67e22",
    "weak": "#16a085", "sweep": "#27ae60", "compact": "#c0392b",
}
LANES = ["minor", "major", "compact"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("out")
    ap.add_argument("--title", default="marrow GC timeline")
    a = ap.parse_args()
    events = json.load(open(a.trace))["traceEvents"]
    gcs = [e for e in events if e.get("cat") == "gc"]
    phases = [e for e in events if e.get("cat") == "gc.phase"]
    heap = [e for e in events if e.get("ph") == "C" and e.get("name") == "heap"]
    if not gcs:
        raise SystemExit("render_gc_trace: the trace holds no collections")
    t0 = 0.0
    t1 = max(e["ts"] + e["dur"] for e in gcs) * 1.02
    width, left, right = 1100, 90, 20
    lane_h, lane_gap, top = 34, 10, 50
    chart_top = top + len(LANES) * (lane_h + lane_gap) + 30
    chart_h = 170
    longest = {}
    for e in gcs:
        k = e["args"]["kind"]
        if k not in longest or e["dur"] > longest[k]["dur"]:
            longest[k] = e
    detail_top = chart_top + chart_h + 80
    height = detail_top + 30 + len(longest) * 34
    x = lambda ts: left + (ts - t0) / (t1 - t0) * (width - left - right)
    # Pauses are short next to the run: give each at least one pixel.
    w = lambda dur: max(1.0, dur / (t1 - t0) * (width - left - right))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="24" font-size="16" font-weight="bold">{escape(a.title)}</text>']
    # Each collection's phases, in time order (grouped once: traces hold thousands).
    phases_of = {}
    for p in sorted(phases, key=lambda q: q["ts"]):
        phases_of.setdefault(p["args"]["sequence"], []).append(p)
    for i, lane in enumerate(LANES):
        y = top + i * (lane_h + lane_gap)
        n = sum(1 for e in gcs if e["args"]["kind"] == lane)
        out.append(f'<text x="{left - 8}" y="{y + lane_h / 2 + 4}" text-anchor="end">{lane} ({n})</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{width - left - right}" height="{lane_h}" '
                   f'fill="#f4f4f4"/>')
    # Each collection: a grey frame; its phases stacked as coloured segments (phases are
    # laid side by side inside it, so at this scale the stack shows their shares).
    for e in gcs:
        lane = LANES.index(e["args"]["kind"])
        y = top + lane * (lane_h + lane_gap)
        out.append(f'<rect x="{x(e["ts"]):.2f}" y="{y}" width="{w(e["dur"]):.2f}" height="{lane_h}" '
                   f'fill="#bbbbbb"><title>#{e["args"]["sequence"]} {escape(e["name"])}: '
                   f'{e["dur"] / 1000:.3f} ms</title></rect>')
    for g in gcs:
        if g["dur"] <= 0:
            continue
        y = top + LANES.index(g["args"]["kind"]) * (lane_h + lane_gap)
        offset = 0.0  # phases stack downwards, each as high as its share of the pause
        for p in phases_of.get(g["args"]["sequence"], []):
            share = p["dur"] / g["dur"]
            out.append(f'<rect x="{x(g["ts"]):.2f}" y="{y + offset * lane_h:.2f}" '
                       f'width="{w(g["dur"]):.2f}" height="{share * lane_h:.2f}" '
                       f'fill="{PHASE_COLOURS.get(p["name"], "#555")}"/>')
            offset += share
    # Heap bytes.
    if heap:
        peak = max(max(e["args"]["committed"], e["args"]["used"]) for e in heap) or 1
        yv = lambda b: chart_top + chart_h - b / peak * chart_h
        out.append(f'<rect x="{left}" y="{chart_top}" width="{width - left - right}" '
                   f'height="{chart_h}" fill="#fafafa" stroke="#dddddd"/>')
        for key, colour in (("committed", "#2c3e50"), ("used", "#2e86de")):
            pts = " ".join(f'{x(e["ts"]):.1f},{yv(e["args"][key]):.1f}' for e in heap)
            out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        out.append(f'<text x="{left - 8}" y="{chart_top + 10}" text-anchor="end">'
                   f'{peak / 1048576:.0f} MiB</text>')
        out.append(f'<text x="{left - 8}" y="{chart_top + chart_h}" text-anchor="end">0</text>')
        out.append(f'<text x="{left + 6}" y="{chart_top + 16}" fill="#2c3e50">committed</text>')
        out.append(f'<text x="{left + 86}" y="{chart_top + 16}" fill="#2e86de">in use</text>')
    # Time axis.
    axis_y = chart_top + chart_h + 18
    for k in range(6):
        ts = t0 + (t1 - t0) * k / 5
        out.append(f'<text x="{x(ts):.1f}" y="{axis_y}" text-anchor="middle">{ts / 1000:.0f} ms</text>')
    # Legend.
    lx = left
    for name, colour in PHASE_COLOURS.items():
        out.append(f'<rect x="{lx}" y="{axis_y + 18}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{lx + 16}" y="{axis_y + 28}">{name}</text>')
        lx += 90
    # The longest collection of each kind, phase by phase, to scale with each other.
    out.append(f'<text x="{left}" y="{detail_top}" font-weight="bold">The longest collection '
               f'of each kind, phase by phase</text>')
    widest = max(e["dur"] for e in longest.values())
    bar_w = width - left - right - 160
    for i, (kind, g) in enumerate(sorted(longest.items(), key=lambda kv: LANES.index(kv[0]))):
        y = detail_top + 14 + i * 34
        out.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{kind}</text>')
        bx = left
        for p in phases_of.get(g["args"]["sequence"], []):
            pw = p["dur"] / widest * bar_w
            out.append(f'<rect x="{bx:.2f}" y="{y}" width="{pw:.2f}" height="22" '
                       f'fill="{PHASE_COLOURS.get(p["name"], "#555")}"><title>{p["name"]} '
                       f'{p["dur"] / 1000:.3f} ms</title></rect>')
            if pw > 60:
                out.append(f'<text x="{bx + 4:.2f}" y="{y + 15}" fill="white">{p["name"]} '
                           f'{p["dur"] / 1000:.2f}</text>')
            bx += pw
        out.append(f'<text x="{bx + 8:.2f}" y="{y + 15}">#{g["args"]["sequence"]} '
                   f'({g["args"]["reason"]}): {g["dur"] / 1000:.2f} ms</text>')
    total = sum(e["dur"] for e in gcs) / 1000
    out.append(f'<text x="{width - right}" y="24" text-anchor="end">{len(gcs)} collections, '
               f'{total:.1f} ms paused</text>')
    out.append("</svg>")
    open(a.out, "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()

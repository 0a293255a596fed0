#!/usr/bin/env python3
"""Checks tools/gc_pauses.py against cases worked out by hand, and its exact MMU against a
brute-force scan of every window start on a fine grid. Run by tools/tests.d/gc-pauses.sh."""
from __future__ import annotations

import random
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gc_pauses as gp  # noqa: E402


def mmu_of(pauses, span, window):
    return gp.mmu(gp.Timeline(pauses, span), window)


class MmuByHand(unittest.TestCase):
    def test_no_pauses_is_full_utilization(self):
        self.assertEqual(mmu_of([], 100, 10), 1.0)

    def test_one_pause(self):
        # 2 units stopped at [10, 12] of a 100-unit run.
        pauses = [(10, 2)]
        self.assertEqual(mmu_of(pauses, 100, 1), 0.0)
        self.assertEqual(mmu_of(pauses, 100, 2), 0.0)
        self.assertAlmostEqual(mmu_of(pauses, 100, 4), 0.5)
        self.assertAlmostEqual(mmu_of(pauses, 100, 10), 0.8)
        self.assertAlmostEqual(mmu_of(pauses, 100, 100), 0.98)

    def test_two_close_pauses_add_up_in_one_window(self):
        # [10, 11] and [12, 13]: a 3-wide window holds both (2 of 3 stopped); a 2-wide one
        # at most 1 (e.g. [10.5, 12.5]); a 5-wide one 2.
        pauses = [(10, 1), (12, 1)]
        self.assertAlmostEqual(mmu_of(pauses, 100, 3), 1 / 3)
        self.assertAlmostEqual(mmu_of(pauses, 100, 2), 0.5)
        self.assertAlmostEqual(mmu_of(pauses, 100, 5), 0.6)
        self.assertAlmostEqual(mmu_of(pauses, 100, 1.5), 1 - 1 / 1.5)

    def test_worst_window_ends_at_a_pause_end(self):
        # [0, 1] and [5, 9]: the worst 6-wide window is [3, 9] or [4, 10] (4 stopped),
        # not one starting at a pause ([0, 6]: 2, [5, 11]: 4).
        pauses = [(0, 1), (5, 4)]
        self.assertAlmostEqual(mmu_of(pauses, 20, 6), 1 - 4 / 6)
        # 9-wide: [0, 9] holds all 5.
        self.assertAlmostEqual(mmu_of(pauses, 20, 9), 1 - 5 / 9)

    def test_pause_at_the_edges_of_the_run(self):
        # [0, 5] and [18, 20] of a 20-unit run: windows cannot reach outside the run.
        pauses = [(0, 5), (18, 2)]
        self.assertAlmostEqual(mmu_of(pauses, 20, 10), 0.5)
        self.assertAlmostEqual(mmu_of(pauses, 20, 20), 1 - 7 / 20)

    def test_pause_begun_before_the_run_counts_from_its_start(self):
        # [-2, 3]: only [0, 3] is inside the run, so a 4-wide window holds 3.
        self.assertAlmostEqual(mmu_of([(-2, 5)], 20, 4), 0.25)

    def test_window_longer_than_the_run_is_undefined(self):
        self.assertIsNone(mmu_of([(1, 1)], 20, 21))
        self.assertIsNone(mmu_of([(1, 1)], 20, 0))

    def test_overlapping_pauses_count_once(self):
        # [10, 14] and [12, 16] stop the mutator for [10, 16]: 6, not 8.
        pauses = [(10, 4), (12, 4)]
        self.assertAlmostEqual(mmu_of(pauses, 100, 10), 0.4)
        self.assertEqual(mmu_of(pauses, 100, 6), 0.0)

    def test_curve_in_milliseconds_and_not_monotonic(self):
        # A 1 s run with a 5 ms pause every 100 ms: MMU(1 ms) = 0, MMU(10 ms) = 0.5,
        # MMU(100 ms) = 0.95 (a window holds one pause, or two halves), MMU(1 s) = 0.95.
        pauses = [("minor", 100_000.0 * i + 50_000, 5_000.0) for i in range(10)]
        curve = gp.mmu_curve(1_000_000, pauses, [1, 10, 100, 1000])
        self.assertEqual(curve[0], 0.0)
        self.assertAlmostEqual(curve[1], 0.5)
        self.assertAlmostEqual(curve[2], 0.95)
        self.assertAlmostEqual(curve[3], 0.95)
        full = gp.mmu_curve(1_000_000, pauses)
        self.assertEqual(len(full), len(gp.WINDOWS_MS))
        self.assertEqual([gp.WINDOWS_MS[i] for i in (0, 8, 16, 24)], [1.0, 10.0, 100.0, 1000.0])
        # MMU is not monotonic in the window: 75 ms hold one pause (1 - 5/75), 100 ms one
        # (0.95), 133 ms two (1 - 10/133.4).
        self.assertAlmostEqual(full[15], 1 - 5 / gp.WINDOWS_MS[15])
        self.assertAlmostEqual(full[16], 0.95)
        self.assertAlmostEqual(full[17], 1 - 10 / gp.WINDOWS_MS[17])
        self.assertLess(full[17], full[16])


class MmuAgainstBruteForce(unittest.TestCase):
    def test_random_timelines(self):
        # Integer pauses on a 1-unit grid: the worst window starts on the grid (its
        # candidates are pause starts and pause ends - w), so scanning every integer start
        # finds the exact maximum.
        rng = random.Random(15)
        for _ in range(100):
            span = rng.randint(20, 200)
            pauses, t = [], rng.randint(0, 10)
            while t < span:
                d = rng.randint(1, 8)
                if t + d > span:
                    break
                pauses.append((t, d))
                t += d + rng.randint(0, 15)
            stopped = [False] * span
            for s, d in pauses:
                for x in range(s, s + d):
                    stopped[x] = True
            timeline = gp.Timeline(pauses, span)
            for w in range(1, span + 1):
                worst = max(sum(stopped[a:a + w]) for a in range(0, span - w + 1))
                self.assertAlmostEqual(gp.mmu(timeline, w), 1 - worst / w,
                                       msg=f"span {span} window {w} pauses {pauses}")


class Percentiles(unittest.TestCase):
    def test_nearest_rank(self):
        values = list(range(1, 11))
        self.assertEqual(gp.percentile(values, 50), 5)
        self.assertEqual(gp.percentile(values, 90), 9)
        self.assertEqual(gp.percentile(values, 99), 10)
        self.assertEqual(gp.percentile([7], 50), 7)
        self.assertEqual(gp.percentile([3, 1, 2], 0), 1)

    def test_per_kind_with_a_new_kind(self):
        pauses = [("minor", 0, 100), ("minor", 10, 300), ("major", 20, 5000),
                  ("remark", 30, 40), ("minor", 40, 200)]
        k = gp.kind_stats(pauses)
        self.assertEqual(sorted(k), ["all", "major", "minor", "remark"])
        self.assertEqual(k["minor"]["count"], 3)
        self.assertEqual(k["minor"]["p50_us"], 200)
        self.assertEqual(k["minor"]["max_us"], 300)
        self.assertAlmostEqual(k["minor"]["total_ms"], 0.6)
        self.assertEqual(k["all"]["count"], 5)
        self.assertEqual(k["all"]["p50_us"], 200)
        self.assertEqual(k["all"]["p90_us"], 5000)
        self.assertEqual(gp.ordered_kinds(k), ["minor", "major", "remark", "all"])
        self.assertEqual(gp.ordered_kinds({"zeta", "minor", "alpha"}),
                         ["minor", "alpha", "zeta", "all"])


class LogsAndMedians(unittest.TestCase):
    def test_parse(self):
        span, pauses = gp.parse_log("# a comment\nspan_us 1000.5\nminor 10.0 2.5\n\nfull 20 3\n")
        self.assertEqual(span, 1000.5)
        self.assertEqual(pauses, [("minor", 10.0, 2.5), ("full", 20.0, 3.0)])
        with self.assertRaises(ValueError):
            gp.parse_log("span_us 10\nminor 1\n")
        with self.assertRaises(ValueError):
            gp.run_metrics("minor 1 2\n")

    def test_median_over_runs(self):
        # Three runs of 20 ms; one 2 ms pause, one 4 ms, none. MMU(1 ms) per run: 0, 0, 1;
        # MMU(10 ms): 0.8, 0.6, 1 -> medians 0 and 0.8. Windows over 20 ms: None.
        runs = [gp.run_metrics(t) for t in ("span_us 20000\nminor 1000 2000\n",
                                            "span_us 20000\nmajor 5000 4000\n",
                                            "span_us 20000\n")]
        m = gp.median_metrics(runs)
        self.assertEqual(m["runs"], 3)
        self.assertEqual(m["mmu"][0], 0.0)
        self.assertAlmostEqual(m["mmu"][8], 0.8)
        self.assertIsNone(m["mmu"][16])
        self.assertEqual(list(m["kinds"]), ["minor", "major", "all"])
        # A run without minor pauses counts as 0 of them: medians of (1, 0, 0) and
        # (2000, 0, 0).
        self.assertEqual(m["kinds"]["minor"]["count"], 0)
        self.assertEqual(m["kinds"]["minor"]["max_us"], 0)
        self.assertEqual(m["kinds"]["all"]["count"], 1)
        self.assertEqual(m["kinds"]["all"]["max_us"], 2000)
        self.assertIsNone(gp.median_metrics([None, {}]))


if __name__ == "__main__":
    unittest.main(verbosity=1)

#!/usr/bin/env python3
"""Precision and same-commit agreement of runs of one matrix (issues 13 and 28's measure).

usage: scripts/agreement.py RUN_DIR RUN_DIR [RUN_DIR...]

For each run: the share of ok cells whose throughput 95% interval is within +-5% of the mean, and the
median half-width. Between the runs: of the row orderings resolved in one run (per parameter set, every
pair of rows), how many each other run resolves the same way, leaves unresolved, or contradicts.
A pair is resolved by the paired ratio of its repeats by round when both cells have rounds, else by
non-overlapping intervals (runs from before rounds).
"""
import glob
import json
import math
import os
import sys
from statistics import mean, median, stdev

T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 19: 2.093, 29: 2.045}


def t975(df):
    keys = sorted(k for k in T975 if k <= df)
    return T975[keys[-1]] if keys else math.inf


def load(run):
    cells = {}
    for p in glob.glob(os.path.join(run, "cells", "*.json")):
        c = json.load(open(p))
        if c["status"] == "ok":
            cells[c["cell_id"]] = c
    return cells


def half_width(c):
    t = c["summary"]["throughput_ops_s"]
    return (t["ci95_high"] - t["mean"]) / t["mean"] if t["n"] >= 2 else None


def ratio_half_width(a, b):
    """Half-width (relative) of the 95% interval of a/b: paired by round where both have rounds, else the
    ratio of the two intervals' ends (what the report did before rounds)."""
    ra = {r.get("round"): r["throughput_ops_s"] for r in a["repeats"]}
    rb = {r.get("round"): r["throughput_ops_s"] for r in b["repeats"]}
    if None not in ra and None not in rb:
        logs = [math.log(ra[k] / rb[k]) for k in ra if k in rb]
        if len(logs) < 2:
            return None
        return math.exp(t975(len(logs) - 1) * stdev(logs) / math.sqrt(len(logs))) - 1
    ta, tb = a["summary"]["throughput_ops_s"], b["summary"]["throughput_ops_s"]
    m = ta["mean"] / tb["mean"]
    return (ta["ci95_high"] / max(tb["ci95_low"], 1e-9)) / m - 1


def paired(a, b):
    """(resolved, direction) of a over b."""
    ra = {r.get("round"): r["throughput_ops_s"] for r in a["repeats"]}
    rb = {r.get("round"): r["throughput_ops_s"] for r in b["repeats"]}
    if None not in ra and None not in rb:
        logs = [math.log(ra[k] / rb[k]) for k in ra if k in rb]
        if len(logs) < 2:
            return False, 0
        m, s = mean(logs), stdev(logs)
        h = t975(len(logs) - 1) * s / math.sqrt(len(logs))
        if m - h > 0:
            return True, 1
        if m + h < 0:
            return True, -1
        return False, 0
    ta, tb = a["summary"]["throughput_ops_s"], b["summary"]["throughput_ops_s"]
    if ta["ci95_low"] > tb["ci95_high"]:
        return True, 1
    if ta["ci95_high"] < tb["ci95_low"]:
        return True, -1
    return False, 0


def pairs(cells):
    by_set = {}
    for c in cells.values():
        key = (c["workload"], json.dumps(c["params"], sort_keys=True))
        by_set.setdefault(key, []).append(c)
    for cs in by_set.values():
        cs.sort(key=lambda c: c["runtime"])
        for i in range(len(cs)):
            for j in range(i + 1, len(cs)):
                yield cs[i], cs[j]


def orderings(cells):
    by_set = {}
    for c in cells.values():
        key = (c["workload"], json.dumps(c["params"], sort_keys=True))
        by_set.setdefault(key, []).append(c)
    out = {}
    for key, cs in by_set.items():
        cs.sort(key=lambda c: c["runtime"])
        for i in range(len(cs)):
            for j in range(i + 1, len(cs)):
                out[(key, cs[i]["runtime"], cs[j]["runtime"])] = paired(cs[i], cs[j])
    return out


def agreement(a, b):
    """(resolved in a, resolved the same way in b, contradicted by b) over a's resolved orderings."""
    resolved = same = contradicted = 0
    for k, (res, d) in a.items():
        if not res or k not in b:
            continue
        resolved += 1
        r2, d2 = b[k]
        same += r2 and d2 == d
        contradicted += r2 and d2 == -d
    return resolved, same, contradicted


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: scripts/agreement.py RUN_DIR RUN_DIR [RUN_DIR...]")
    runs = [load(r) for r in sys.argv[1:]]
    for name, run in zip(sys.argv[1:], runs):
        hws = [h for h in map(half_width, run.values()) if h is not None]
        within = sum(h <= 0.05 for h in hws)
        print(f"{name}: {len(run)} ok cells; within +-5%: {within}/{len(hws)} = {within / max(1, len(hws)):.0%}; "
              f"median half-width +-{100 * median(hws):.1f}%")
        rh = [h for h in (ratio_half_width(x, y) for x, y in pairs(run)) if h is not None]
        rw = sum(h <= 0.05 for h in rh)
        print(f"  row-pair ratios within +-5%: {rw}/{len(rh)} = {rw / max(1, len(rh)):.0%}; "
              f"median half-width +-{100 * median(rh) if rh else float('nan'):.1f}%")
    orders = [orderings(r) for r in runs]
    resolved = same = contradicted = 0
    for i, a in enumerate(orders):
        for j, b in enumerate(orders):
            if i != j:
                r, s_, c = agreement(a, b)
                resolved += r
                same += s_
                contradicted += c
    print(f"row orderings resolved in one run, checked against each other run ({len(runs)} runs, "
          f"{len(runs) * (len(runs) - 1)} ordered pairs): {resolved}; resolved the same way: {same} = "
          f"{same / max(1, resolved):.0%}; unresolved: {resolved - same - contradicted}; "
          f"contradicted: {contradicted}; the same way or unresolved: "
          f"{(resolved - contradicted) / max(1, resolved):.0%}")
    per_run = ", ".join(str(sum(r for r, _ in o.values())) for o in orders)
    print(f"orderings resolved per run: {per_run} of {len(orders[0])}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Precision of a run (issue 28's measures): paired row-against-best half-widths per workload (closed loop,
reference rows (nginx, go) left out), cells within +-5% of their chosen estimate (closed and open loop apart; a cell whose
estimator gives no interval counts as not within), the estimators used, the time gap of paired repeats,
and the ceiling: the half-width each comparison would reach at 10 rounds with its measured per-round spread. Comparisons pair rounds as the report does (a
time-sliced workload's sliced rounds only, where two cells share two or more).

usage: scripts/precision.py RUN_DIR [WORKLOAD,...]
"""
import json, math, os, sys, statistics
from collections import defaultdict
REFERENCE_ROWS = {"nginx", "go"}  # rows that are not Rust runtimes: the comparisons are among the runtimes
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086]

run = sys.argv[1]
only = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else None
cells = []
for f in os.listdir(os.path.join(run, "cells")):
    if f.endswith(".json"):
        c = json.load(open(os.path.join(run, "cells", f)))
        if c.get("status") == "ok" and (only is None or c["workload"] in only):
            cells.append(c)

def open_loop(c):
    return any((r.get("metrics") or {}).get("offered_rate_rps", 0) > 0 for r in c["repeats"]) or \
        (c["workload"] == "http" and int(c["params"].get("rate", 0) or 0) > 0)

def ci_log(ratios):
    logs = [math.log(r) for r in ratios if r > 0]
    n = len(logs)
    if n < 2:
        return None
    m = statistics.mean(logs); s = statistics.stdev(logs)
    t = T975[min(n - 2, len(T975) - 1)]
    lo, hi = math.exp(m - t * s / math.sqrt(n)), math.exp(m + t * s / math.sqrt(n))
    mm = math.exp(m)
    return max(hi / mm - 1, 1 - lo / mm)

sets = defaultdict(list)
for c in cells:
    if c["runtime"] in REFERENCE_ROWS:
        continue
    sets[(c["workload"], json.dumps(c["params"], sort_keys=True))].append(c)

def paired_rounds(a, b):
    """The repeats a comparison pairs (dyno_core::schema::paired_rounds): the rounds both ran
    time-sliced, where they share two or more; else every round both ran."""
    pairs = []
    for r in a:
        rb = next((x for x in b if x.get("round") == r.get("round")), None)
        if rb is not None and r.get("round") is not None:
            pairs.append((r, rb, bool(r.get("sliced")) and bool(rb.get("sliced"))))
    sliced = sum(p[2] for p in pairs) >= 2
    return [(x, y) for x, y, s in pairs if s or not sliced]

hw = defaultdict(list); gaps = []
# Each comparison's spread of per-round log ratios, for the ceiling: the half-width it would reach at
# MAX_ROUNDS rounds with the same spread (t factor and sqrt(n) only), the budget aside.
MAX_ROUNDS = 10
spread = defaultdict(list)
for (w, _), cs in sets.items():
    if len(cs) < 2 or open_loop(cs[0]):
        continue
    best = max(cs, key=lambda c: c["summary"]["throughput_ops_s"]["mean"])
    for c in cs:
        if c is best:
            continue
        ratios = []
        for r, rb in paired_rounds(c["repeats"], best["repeats"]):
            ratios.append(r["throughput_ops_s"] / rb["throughput_ops_s"])
            if r.get("started_unix_s") and rb.get("started_unix_s"):
                gaps.append(abs(r["started_unix_s"] - rb["started_unix_s"]))
        h = ci_log(ratios)
        if h is not None:
            hw[w].append(h)
            spread[w].append(statistics.stdev(math.log(r) for r in ratios if r > 0))

allh = [h for v in hw.values() for h in v]
print(f"paired row-vs-best comparisons (closed loop): {len(allh)}; within 5%: {sum(h <= .05 for h in allh)}; within 10%: {sum(h <= .10 for h in allh)}")
for w, v in sorted(hw.items()):
    print(f"  {w}: n={len(v)} median half-width +-{100*statistics.median(v):.1f}%  within 5%: {sum(h <= .05 for h in v)}  within 10%: {sum(h <= .10 for h in v)}")
t_max = T975[MAX_ROUNDS - 2]
ceil = {w: [t_max * sd / math.sqrt(MAX_ROUNDS) for sd in v] for w, v in spread.items()}
allc = [h for v in ceil.values() for h in v]
rounds = max((r.get("round") or 0) + 1 for c in cells for r in c["repeats"])
print(f"ceiling: the same per-round spread over {MAX_ROUNDS} rounds (this run ran {rounds}): within 5%: "
      f"{sum(h <= .05 for h in allc)}, within 10%: {sum(h <= .10 for h in allc)} of {len(allc)}")
for w, v in sorted(ceil.items()):
    print(f"  {w}: median per-round SD of the log ratio {100*statistics.median(spread[w]):.1f}%, "
          f"half-width at {MAX_ROUNDS} rounds +-{100*statistics.median(v):.1f}%, within 5%: {sum(h <= .05 for h in v)} of {len(v)}")
def cell_hw(c):
    p = c.get("precision") or {}
    return p.get("half_width")
def within(cs):
    hs = [cell_hw(c) for c in cs]
    ok = sum(h is not None and h <= .05 for h in hs)
    known = sorted(h for h in hs if h is not None)
    med = f"median +-{100*statistics.median(known):.1f}%" if known else "no intervals"
    return f"{ok}/{len(hs)} ({med}, {len(hs) - len(known)} without an interval)"
print(f"cells within 5% of their estimate: closed loop {within([c for c in cells if not open_loop(c)])}; "
      f"open loop {within([c for c in cells if open_loop(c)])}")
est = defaultdict(int)
for c in cells:
    e = (c.get("precision") or {}).get("estimate")
    est[e["estimator"] if e else "none recorded"] += 1
print("estimators: " + ", ".join(f"{k} {v}" for k, v in sorted(est.items())))
if gaps:
    gaps.sort()
    print(f"paired-repeat time gap (row vs best): median {statistics.median(gaps):.1f} s, p90 {gaps[int(len(gaps)*.9)]:.1f} s, n={len(gaps)}")
else:
    print("paired-repeat time gap: not recorded in this run")

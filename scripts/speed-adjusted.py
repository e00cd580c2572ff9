#!/usr/bin/env python3
"""Does dividing each repeat's throughput by its machine-speed probe (relative to the run median) narrow the
paired row-vs-best intervals, and without bias (median paired ratio unchanged)? usage: scripts/speed-adjusted.py RUN_DIR"""
import json, math, os, sys, statistics
from collections import defaultdict
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131]
run = sys.argv[1]
cells = [json.load(open(os.path.join(run, "cells", f))) for f in os.listdir(os.path.join(run, "cells")) if f.endswith(".json")]
cells = [c for c in cells if c.get("status") == "ok" and c["runtime"] not in ("nginx", "go")]
def open_loop(c):
    return any((r.get("metrics") or {}).get("offered_rate_rps", 0) > 0 for r in c["repeats"]) or (c["workload"] == "http" and int(c["params"].get("rate", 0) or 0) > 0)
speeds = [min(r["machine_speed"]["before_per_us"], r["machine_speed"]["after_per_us"]) for c in cells for r in c["repeats"] if r.get("machine_speed")]
med = statistics.median(speeds)
def x(r, adj, which):
    s = r.get("machine_speed")
    f = 1.0
    if adj and s:
        f = {"slower": min(s["before_per_us"], s["after_per_us"]), "mean": (s["before_per_us"] + s["after_per_us"]) / 2}[which] / med
    return r["throughput_ops_s"] / f
def hw(ratios):
    logs = [math.log(v) for v in ratios]
    n = len(logs)
    if n < 2: return None, None
    m = statistics.mean(logs); s = statistics.stdev(logs); t = T975[min(n - 2, len(T975) - 1)]
    return max(math.exp(t * s / math.sqrt(n)) - 1, 1 - math.exp(-t * s / math.sqrt(n))), math.exp(m)
sets = defaultdict(list)
for c in cells:
    if not open_loop(c):
        sets[(c["workload"], json.dumps(c["params"], sort_keys=True))].append(c)
for which in ("slower", "mean"):
    res = {False: [], True: []}; shift = []
    for cs in sets.values():
        if len(cs) < 2: continue
        best = max(cs, key=lambda c: c["summary"]["throughput_ops_s"]["mean"])
        for c in cs:
            if c is best: continue
            for adj in (False, True):
                rs = []
                for r in c["repeats"]:
                    rb = next((y for y in best["repeats"] if y.get("round") == r.get("round")), None)
                    if rb: rs.append(x(r, adj, which) / x(rb, adj, which))
                h, m = hw(rs)
                if h is not None: res[adj].append((h, m))
            if len(res[False]) == len(res[True]) and res[True]:
                shift.append(res[True][-1][1] / res[False][-1][1])
    for adj in (False, True):
        hs = [h for h, _ in res[adj]]
        print(f"{which:6} {'adjusted  ' if adj else 'unadjusted'}: {len(hs)} comparisons, median half-width +-{100*statistics.median(hs):.1f}%, within 5%: {sum(h <= .05 for h in hs)}")
    print(f"       median ratio shift from adjusting: {statistics.median(shift):.4f} (1 = no bias), max |shift-1| {max(abs(s-1) for s in shift):.3f}")
# per-cell: correlation of probe with throughput/cell median
xs, ys = [], []
for c in cells:
    if open_loop(c): continue
    t = [r["throughput_ops_s"] for r in c["repeats"]]
    cm = statistics.median(t)
    for r in c["repeats"]:
        s = r.get("machine_speed")
        if s: xs.append(min(s["before_per_us"], s["after_per_us"]) / med); ys.append(r["throughput_ops_s"] / cm)
mx, my = statistics.mean(xs), statistics.mean(ys)
cov = sum((a - mx) * (b - my) for a, b in zip(xs, ys)); vx = sum((a - mx) ** 2 for a in xs); vy = sum((b - my) ** 2 for b in ys)
print(f"probe vs throughput/cell median: r = {cov / math.sqrt(vx * vy):.3f} over {len(xs)} repeats; probe median {med:.1f}/us, p5 {sorted(speeds)[len(speeds)//20]:.1f}, p95 {sorted(speeds)[len(speeds)*19//20]:.1f}")

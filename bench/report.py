"""Prints one table per workload from the JSON records of bench/peers.py and `rheano bench`.

    python bench/report.py bench/results/*.json
    python bench/report.py --summary bench/results/*.json   # one line per case (the README's)
"""
import json
import sys
from collections import defaultdict


def fmt(s):
    return "%.2f ms" % (s * 1e3) if s < 10 else "%.2f s" % s


def main(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            rows += json.load(f)["results"]
    ok = [r for r in rows if "failed" not in r]
    failed = [r for r in rows if "failed" in r]
    groups = defaultdict(list)
    for r in ok:
        groups[(r["workload"], r["dtype"], r["threads"])].append(r)
    for (wl, dt, th) in sorted(groups):
        g = groups[(wl, dt, th)]
        copy = [r for r in g if r["case"] in ("ref:alloc+copy",)]
        peak = [r for r in g if r["case"] == "ref:gemm-peak"]
        print("\n### %s, %s, %d thread%s\n" % (wl, dt, th, "s" if th > 1 else ""))
        extra = ""
        if copy:
            c = copy[0]
            extra = " (fresh-output copy: %s = %.1f GB/s)" % (fmt(c["min_s"]), c["bytes"] / c["min_s"] / 1e9)
        if peak:
            extra = " (numpy GEMM peak: %.1f GFLOP/s)" % (peak[0]["flops"] / peak[0]["min_s"] / 1e9)
        print("reference" + extra + "\n")
        print("| case | rheano min | rheano median | best peer | best peer min | ratio (peer / rheano) | rheano GB/s or GFLOP/s | rheano max abs err |")
        print("|---|---|---|---|---|---|---|---|")
        cases = sorted({r["case"] for r in g if not r.get("reference_only")})
        for case in cases:
            rs = [r for r in g if r["case"] == case]
            mine = [r for r in rs if r["peer"] == "rheano"]
            peers = [r for r in rs if r["peer"] != "rheano"]
            best = min(peers, key=lambda r: r["min_s"]) if peers else None
            if not mine:
                continue
            m = mine[0]
            rate = ""
            if m.get("bytes"):
                rate = "%.1f GB/s" % (m["bytes"] / m["min_s"] / 1e9)
            elif m.get("flops"):
                rate = "%.1f GFLOP/s" % (m["flops"] / m["min_s"] / 1e9)
            err = "" if m.get("max_abs_err") is None else "%.1e" % m["max_abs_err"]
            if best:
                print("| %s | %s | %s | %s | %s | **%.2f×** | %s | %s |" % (case, fmt(m["min_s"]), fmt(m["median_s"]), best["peer"], fmt(best["min_s"]), best["min_s"] / m["min_s"], rate, err))
            else:
                print("| %s | %s | %s | – | – | – | %s | %s |" % (case, fmt(m["min_s"]), fmt(m["median_s"]), rate, err))
        if wl == "W7":
            for r in g:
                if "test_accuracy" in r:
                    print("\n%s test accuracy: %s" % (r["peer"], ", ".join("%.4f" % a for a in r["test_accuracy"])))
    if failed:
        print("\n### Failed cases\n")
        for r in failed:
            print("- %s %s %s %s %d threads: %s" % (r["workload"], r["case"], r["peer"], r["dtype"], r["threads"], r["failed"][:160]))


def summary(paths):
    """One row per (workload, case, dtype, threads): rheano, the best peer, their ratio, and the
    issue's yardsticks: W1/W2 time over the fresh-output copy, W5 time over its GEMM floor."""
    rows = []
    for p in paths:
        with open(p) as f:
            rows += json.load(f)["results"]
    ok = [r for r in rows if "failed" not in r]
    print("| workload | case | dtype | threads | rheano min | best peer (min) | ratio peer/rheano | yardstick |")
    print("|---|---|---|---|---|---|---|---|")
    keys = sorted({(r["workload"], r["case"], r["dtype"], r["threads"]) for r in ok if r["peer"] == "rheano"})
    for wl, case, dt, th in keys:
        same = [r for r in ok if (r["workload"], r["dtype"], r["threads"]) == (wl, dt, th)]
        mine = [r for r in same if r["case"] == case and r["peer"] == "rheano"][0]
        peers = [r for r in same if r["case"] == case and r["peer"] != "rheano" and not r.get("reference_only")]
        best = min(peers, key=lambda r: r["min_s"]) if peers else None
        yard = ""
        copy = [r for r in same if r["case"] == "ref:alloc+copy"]
        peak = [r for r in same if r["case"] == "ref:gemm-peak"]
        if copy and wl in ("W1", "W2"):
            yard = "%.2f× copy" % (mine["min_s"] / copy[0]["min_s"])
        if peak and mine.get("flops"):
            floor = mine["flops"] / (peak[0]["flops"] / peak[0]["min_s"])
            yard = "%.2f× GEMM floor" % (mine["min_s"] / floor)
        peer = "%s %s" % (best["peer"], fmt(best["min_s"])) if best else "–"
        ratio = "%.2f×" % (best["min_s"] / mine["min_s"]) if best else "–"
        print("| %s | %s | %s | %d | %s | %s | %s | %s |" % (wl, case, dt, th, fmt(mine["min_s"]), peer, ratio, yard))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--summary"]:
        summary(sys.argv[2:])
    else:
        main(sys.argv[1:])

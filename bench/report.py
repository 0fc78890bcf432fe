"""Prints one table per workload from the JSON records of bench/peers.py and `rheano bench`.

    python bench/report.py bench/results/*.json
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


if __name__ == "__main__":
    main(sys.argv[1:])

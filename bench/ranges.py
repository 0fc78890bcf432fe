"""Ratios (best peer min / rheano min) of each case over several runs of bench/run.sh.

    python bench/ranges.py RUN_DIR [RUN_DIR ...]   # each holding one run's JSON records
"""
import json, glob, os, sys
runs = sys.argv[1:]
def ratios(run):
    res = {}
    for f in glob.glob(os.path.join(run, '*.json')):
        for r in json.load(open(f))['results']:
            if 'failed' in r or r.get('reference_only') or r['case'].startswith('ref:'): continue
            res.setdefault((r['workload'], r['case'], r['dtype'], r['threads']), {})[r['peer']] = r['min_s']
    out = {}
    for k, d in res.items():
        if 'rheano' not in d: continue
        peers = [v for p, v in d.items() if p != 'rheano']
        if peers: out[k] = min(peers) / d['rheano']
    return out
rs = [ratios(r) for r in runs]
keys = sorted(set().union(*rs))
for k in keys:
    vals = [r[k] for r in rs if k in r]
    print(*k, f"{min(vals):.2f}–{max(vals):.2f}", " ".join(f"{v:.2f}" for v in vals))

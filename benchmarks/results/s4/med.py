import json, glob, re, statistics, sys, collections
d = sys.argv[1]
rows = collections.defaultdict(list)
for f in sorted(glob.glob(d + '/*.json')):
    name = f.split('/')[-1][:-5]
    m = re.match(r'(base|new2?|final)-(.*)-(\d+)$', name)
    if not m: continue
    v, cfg, r = m.groups()
    j = json.load(open(f))
    sc = j['scenarios']
    items = sc.items() if isinstance(sc, dict) else [(x.get('name'), x) for x in sc]
    for sname, x in items:
        if isinstance(x, dict) and 'median' in x: x = x['median']
        rows[(cfg, sname, v)].append(x)
def med(xs, k):
    vals = [x[k] for x in xs if k in x and x[k] == x[k]]
    return statistics.median(vals) if vals else float('nan'), vals
print("| config | scenario | version | n | srv CPU us/ev (median; rounds) | p99 ms (median; rounds) | p50 ms | delivered/s |")
print("|---|---|---|---|---|---|---|---|")
for (cfg, sname, v), xs in sorted(rows.items()):
    c, cs = med(xs, 'serverCpuUsPerEvent'); p, ps = med(xs, 'latP99Us'); p5, _ = med(xs, 'latP50Us'); dl, _ = med(xs, 'deliveredPerS')
    print(f"| {cfg} | {sname} | {v} | {len(xs)} | {c:.1f} ({', '.join(f'{a:.1f}' for a in cs)}) | {p/1000:.1f} ({', '.join(f'{a/1000:.1f}' for a in ps)}) | {p5/1000:.2f} | {dl/1000:.0f} k |")

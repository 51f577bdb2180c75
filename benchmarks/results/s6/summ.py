import json,sys,glob,re,statistics as st
# usage: summ.py DIR [keys]  -> per scenario/build: median over rounds of each figure (rounds in brackets)
rows={}
for f in sorted(glob.glob(sys.argv[1]+'/*.json')):
    name=f.split('/')[-1][:-5]
    m=re.match(r'(.+?)-(\d+)$',name)
    if not m: continue
    b=m.group(1)
    d=json.load(open(f))
    for sc,v in d.get('scenarios',{}).items():
        rows.setdefault((sc,b),[]).append(v['median'])
keys=sys.argv[2].split(',') if len(sys.argv)>2 else ['latP50Us','latP99Us','serverCpuUsPerEvent','serverAllocBPerEvent','deliveredPerS']
for (sc,b),os_ in sorted(rows.items()):
    parts=[]
    for k in keys:
        v=[o.get(k) for o in os_ if isinstance(o.get(k),(int,float))]
        if v: parts.append(f"{k}={st.median(v):.1f} ({', '.join(f'{x:.0f}' if abs(x)>=100 else f'{x:.1f}' for x in v)})")
    print(f"{sc:20s} {b:5s} n={len(os_)} "+' | '.join(parts))

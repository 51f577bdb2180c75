#!/bin/bash
# Campaign s6h: paced-targeted-1000 (ZGC), base vs new, 5 interleaved rounds, with the server's GC log
D=/work/bench/s6h
for r in 1 2 3 4 5; do
  for b in base new; do
    J=/work/bench/jar-s6base2.jar; [ $b = new ] && J=/work/bench/jar-s6new.jar
    echo "$(date +%T) round $r $b load $(cut -d' ' -f1-3 /proc/loadavg)" >> $D/campaign.log
    java -cp $J dev.runlane.benchmarks.WireLoadHarness hol=false reps=1 only='^paced-targeted-1000$' serverGc=Z protocol=2 results=$D name=$b-$r serverJvm="-Xlog:gc:file=$D/gc-$b-$r.log" > $D/$b-$r.log 2>&1
  done
done
echo "$(date +%T) done" >> $D/campaign.log

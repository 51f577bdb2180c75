#!/bin/bash
# Campaign s6b: server allocation per delivered event (load-independent), chunked ring vs base; paced-targeted-1000 and targeted-1000, protocol 2
D=/work/bench/s6b
for r in 1 2 3; do
  for b in base ring; do
    J=/work/bench/jar-s6base2.jar; [ $b = ring ] && J=/work/bench/jar-s6ring2.jar
    echo "$(date +%T) round $r $b load $(cut -d' ' -f1-3 /proc/loadavg)" >> $D/campaign.log
    java -cp $J dev.runlane.benchmarks.WireLoadHarness hol=false reps=1 only='^(paced-targeted-1000|targeted-1000|fanout-1000)$' protocol=2 results=$D name=$b-$r serverJvm="-Xlog:gc:file=$D/gc-$b-$r.log" > $D/$b-$r.log 2>&1
  done
done
echo "$(date +%T) done" >> $D/campaign.log

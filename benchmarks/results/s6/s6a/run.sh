#!/bin/bash
# Campaign s6a: the chunked replay ring (ring) against main before it (base), paced-targeted-1000, G1, protocol 2, interleaved
D=/work/bench/s6a
for r in 1 2 3 4 5; do
  for b in base ring; do
    J=/work/bench/jar-s6prof.jar; [ $b = ring ] && J=/work/bench/jar-s6ring.jar
    echo "$(date +%T) round $r $b load $(cut -d' ' -f1-3 /proc/loadavg)" >> $D/campaign.log
    java -cp $J dev.runlane.benchmarks.WireLoadHarness hol=false reps=1 only='^paced-targeted-1000$' protocol=2 results=$D name=$b-pt-$r serverJvm="-Xlog:gc:file=$D/gc-$b-$r.log" > $D/$b-pt-$r.log 2>&1
  done
done
echo "$(date +%T) done" >> $D/campaign.log

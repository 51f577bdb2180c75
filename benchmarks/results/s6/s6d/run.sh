#!/bin/bash
# Campaign s6d: storm-10000: none vs adm64 (HTTP connections in progress) vs pool256 (Jetty pool queue), interleaved
D=/work/bench/s6d
for r in 1 2 3; do
  for b in none adm64 pool256; do
    echo "$(date +%T) round $r $b load $(cut -d' ' -f1-3 /proc/loadavg)" >> $D/campaign.log
    X=""; [ $b = adm64 ] && X="-Drunlane.bench.upgradeLimit=64"; [ $b = pool256 ] && X="-Drunlane.bench.poolLimit=256"
    timeout 600 java -cp /work/bench/jar-s6adm2.jar dev.runlane.benchmarks.WireLoadHarness hol=false reps=1 storm10k=true only='^storm-10000$' acceptQueue=4096 protocol=2 results=$D name=$b-$r serverJvm="-Dx=1 $X" > $D/$b-$r.log 2>&1
  done
done
echo "$(date +%T) done" >> $D/campaign.log

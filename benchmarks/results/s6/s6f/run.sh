#!/bin/bash
# Campaign s6f (final code of session 6): base = main at the session's start (+ the alloc figure), new = main with the chunked ring,
# pooled encoders, adopted payloads, upgrade admission; interleaved round by round on the same machine.
D=/work/bench/s6f
for r in 1 2 3; do
  for b in base new; do
    J=/work/bench/jar-s6base2.jar; [ $b = new ] && J=/work/bench/jar-s6new.jar
    echo "$(date +%T) round $r $b load $(cut -d' ' -f1-3 /proc/loadavg)" >> $D/campaign.log
    java -cp $J dev.runlane.benchmarks.WireLoadHarness hol=false reps=1 only='^(targeted-1000|fanout-1000|paced-targeted-1000|paced-fanout-1000)$' protocol=2 results=$D name=$b-$r > $D/$b-$r.log 2>&1
  done
done
for r in 1 2 3; do
  for b in none adm512; do
    A=0; [ $b = adm512 ] && A=512
    echo "$(date +%T) storm round $r $b load $(cut -d' ' -f1-3 /proc/loadavg)" >> $D/campaign.log
    timeout 600 java -cp /work/bench/jar-s6new.jar dev.runlane.benchmarks.WireLoadHarness hol=false reps=1 storm10k=true only='^storm-10000$' acceptQueue=4096 protocol=2 upgradeAdmission=$A results=$D/storm name=$b-$r > $D/storm-$b-$r.log 2>&1
  done
done
echo "$(date +%T) done" >> $D/campaign.log

#!/bin/bash
# Session 4's wire campaign: two builds of benchmarks.jar, interleaved round by round.
# usage: JARS=DIR campaign.sh OUTDIR ROUNDS   with DIR/jar-base.jar (the baseline commit's
# benchmarks/target/benchmarks.jar) and DIR/jar-new.jar (the commit measured).
# Medians: python3 med.py OUTDIR
out=$1; rounds=${2:-3}; mkdir -p $out
H="dev.runlane.benchmarks.WireLoadHarness hol=false reps=1"
run() { # version name args...
  v=$1; n=$2; shift 2
  echo "== $v $n $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $out/log.txt
  timeout 900 java -cp ${JARS:-/work/bench}/jar-$v.jar $H results=$out name=$v-$n "$@" 2>&1 | grep -E "^\| [a-z]" | tee -a $out/log.txt
}
for r in $(seq 1 $rounds); do
  for v in base new; do
    run $v max-p1-$r "only=^(targeted-100|targeted-1000|fanout-1000)$" protocol=1
    run $v max-p2-$r "only=^(targeted-1000|fanout-1000)$" protocol=2
    run $v paced-g1-$r "only=paced.*" protocol=2
    run $v paced-z-$r "only=paced.*" protocol=2 serverGc=Z
  done
  run new paced-wt2-g1-$r "only=paced-fanout.*" protocol=2 writeThreads=2
  run new paced-wt2-z-$r "only=paced-fanout.*" protocol=2 writeThreads=2 serverGc=Z
done
echo "campaign done $(date +%T)" | tee -a $out/log.txt

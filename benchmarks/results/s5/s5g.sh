#!/bin/bash
out=$1; mkdir -p $out
H="dev.runlane.benchmarks.WireLoadHarness hol=false reps=1"
run() { v=$1; n=$2; shift 2
  echo "== $v $n $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $out/log.txt
  timeout 900 java -cp /work/bench/jar-$v.jar $H results=$out name=$v-$n "$@" 2>&1 | grep -E "^\| [a-z]" | tee -a $out/log.txt
}
for r in 1 2 3 4 5 6; do
  run s5 t-p2-$r "only=^targeted-1000$" protocol=2
  run j384 t-p3-$r "only=^targeted-1000$" protocol=3
  run s5 f-p2-$r "only=^fanout-1000$" protocol=2
  run j384 f-p3-$r "only=^fanout-1000$" protocol=3
done
echo "done $(date +%T)" | tee -a $out/log.txt

#!/bin/bash
out=$1; mkdir -p $out
H="dev.runlane.benchmarks.WireLoadHarness hol=false reps=1"
run() { v=$1; n=$2; shift 2
  echo "== $v $n $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $out/log.txt
  timeout 900 java -cp ${JARS:-/work/bench}/jar-$v.jar $H results=$out name=$v-$n "$@" 2>&1 | grep -E "^\| [a-z]" | tee -a $out/log.txt
}
for r in 1 2 3; do for wt in 1 2; do
  run final wt$wt-$r "only=^(targeted-1000|fanout-1000|paced-targeted-1000|paced-fanout-1000)$" protocol=2 writeThreads=$wt
done; done
echo "campaign4 done $(date +%T)" | tee -a $out/log.txt

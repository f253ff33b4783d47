#!/usr/bin/env bash
# run_cpu_results.sh — the SmolLM2 CPU results of experiments/results/README.md: runs each task's
# config (zero-shot, prompt tuning, tuned evaluation), then writes each report. Resumable: rerun
# after an interruption and finished runs are skipped, a killed training run resumes from its
# checkpoint.   tools/run_cpu_results.sh [build/spot]
set -euo pipefail
spot=${1:-build/spot}
for task in sst2 rte cb mrpc; do
  echo "=== $(date -u +%H:%M:%S) $task"
  "$spot" run "experiments/smollm2_$task.json"
  "$spot" report "runs/smollm2/$task" > /dev/null
done
echo "=== $(date -u +%H:%M:%S) done"

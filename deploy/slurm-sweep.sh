#!/bin/bash
# A seed sweep split across a Slurm job array: each array task runs one shard, taking its
# index from SLURM_ARRAY_TASK_ID (`--shard auto/N`). From the repository root (the tasks
# run in the directory sbatch was called from, and Slurm opens the log files below before
# the script runs, so their directory must exist):
#   mkdir -p results && sbatch deploy/slurm-sweep.sh
# and, once every task is done, merge:
#   zabsim merge results/leader-failover-*.jsonl -o results/leader-failover.jsonl
#
# Everything is set from the environment (the defaults are the sweep below); SHARDS must be
# the array's size, so change both together, e.g. 4 shards over 400 seeds:
#   sbatch --array=0-3 --export=ALL,SHARDS=4,SEEDS=0..400 deploy/slurm-sweep.sh
#   SCENARIO  scenario file                   scenarios/leader-failover.toml
#   SEEDS     seed range (`A..B`)             0..160000
#   SHARDS    shard count = array tasks       16
#   JOBS      parallel jobs per task          SLURM_CPUS_PER_TASK
#   OUT_DIR   where the shards' files go      results
#   ZABSIM    the zabsim binary               zabsim (on PATH)
# A smaller array with the same SHARDS re-runs only those shards (`--array=5` for a failed
# task 5). Each task writes OUT_DIR/NAME-K.jsonl, NAME being the scenario's file name.
#SBATCH --job-name=zabsim-sweep
#SBATCH --array=0-15
#SBATCH --cpus-per-task=4
#SBATCH --mem=2G
#SBATCH --time=01:00:00
#SBATCH --output=results/slurm-%A_%a.log
set -euo pipefail
SCENARIO=${SCENARIO:-scenarios/leader-failover.toml}
SEEDS=${SEEDS:-0..160000}
SHARDS=${SHARDS:-16}
JOBS=${JOBS:-${SLURM_CPUS_PER_TASK:-1}}
OUT_DIR=${OUT_DIR:-results}
ZABSIM=${ZABSIM:-zabsim}
TASK=${SLURM_ARRAY_TASK_ID:?is not set: submit this script as a job array (sbatch --array)}
# A task past the shard count would fail in zabsim anyway; say which setting is wrong.
if [ "${SLURM_ARRAY_TASK_MAX:-0}" -ge "$SHARDS" ]; then
  echo "slurm-sweep: the array goes up to task $SLURM_ARRAY_TASK_MAX but SHARDS=$SHARDS" >&2
  exit 2
fi
if [ "${SLURM_ARRAY_TASK_MIN:-}" = 0 ] && [ "${SLURM_ARRAY_TASK_COUNT:-}" = $((SLURM_ARRAY_TASK_MAX + 1)) ] &&
  [ "$SLURM_ARRAY_TASK_COUNT" -lt "$SHARDS" ]; then
  echo "slurm-sweep: warning: the array is tasks 0-$SLURM_ARRAY_TASK_MAX but SHARDS=$SHARDS:" \
    "only those shards run (right to re-run them, not for a whole sweep)" >&2
fi
NAME=$(basename "$SCENARIO" .toml)
mkdir -p "$OUT_DIR"
"$ZABSIM" sweep "$SCENARIO" --seeds "$SEEDS" --jobs "$JOBS" \
  --shard "auto/$SHARDS" --out "$OUT_DIR/$NAME-$TASK.jsonl" --json

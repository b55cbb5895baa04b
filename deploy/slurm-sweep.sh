#!/bin/bash
# A seed sweep split across a Slurm job array: each array task runs one shard, taking its
# index from SLURM_ARRAY_TASK_ID (`--shard auto/N`). Submit with
#   sbatch deploy/slurm-sweep.sh
# and, once every task is done, merge:
#   zabsim merge results/leader-failover-*.jsonl -o results/leader-failover.jsonl
#SBATCH --job-name=zabsim-sweep
#SBATCH --array=0-15
#SBATCH --cpus-per-task=4
#SBATCH --mem=2G
#SBATCH --time=01:00:00
#SBATCH --output=results/slurm-%A_%a.log
set -euo pipefail
SHARDS=16
SCENARIO=${SCENARIO:-scenarios/leader-failover.toml}
NAME=$(basename "$SCENARIO" .toml)
mkdir -p results
zabsim sweep "$SCENARIO" --seeds 0..160000 --jobs "$SLURM_CPUS_PER_TASK" \
  --shard "auto/$SHARDS" --out "results/$NAME-$SLURM_ARRAY_TASK_ID.jsonl" --json

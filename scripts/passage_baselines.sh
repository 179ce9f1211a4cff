#!/usr/bin/env bash
# The measured run of docs/task_types.md: the passage-level tasks (SQuAD, GoEmotions,
# XCOPA) of conf/passage_tasks, each alone (single-task baselines) and all together with
# the GLUE tasks of conf/base (one multi-task run), with the same training budget.
#
#   scripts/passage_baselines.sh [extra kedro --params, e.g. training.max_steps=1500]
#
# Writes data/08_reporting/passage_runs/<run>/{metrics.json,training_history.json,wall.txt}.
# Needs ../shared/data (a shared/data folder beside the project). Run from the project root.
set -euo pipefail
export DO_NOT_TRACK=1
out=data/08_reporting/passage_runs
mkdir -p "$out"
extra=${1:-}

run() {  # run <name> <kedro --params>
  local name=$1 params=$2
  mkdir -p "$out/$name"
  local start=$(date +%s)
  kedro run --env passage_tasks ${params:+--params "$params"}
  echo "$(( $(date +%s) - start )) s wall, $(nproc) CPUs, params: ${params}" > "$out/$name/wall.txt"
  cp data/08_reporting/metrics.json data/07_model_output/training_history.json "$out/$name/"
}

# Multi-task: every task of conf/base + conf/passage_tasks.
run multitask "$extra"
# Single-task baselines: one model per task with the same budget (strategy single_task).
run single_task "training.strategy=single_task${extra:+,$extra}"

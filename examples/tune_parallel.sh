#!/bin/sh
# Two processes share one search (examples/tune_parallel.yaml, 12 grid points) through a journal file,
# then print the study's whole table. Use --storage sqlite:///search.db (or a PostgreSQL/MySQL URL
# shared by several machines) the same way. Watch it live with: optuna-dashboard search.log
set -e
cd "$(dirname "$0")/.."
rm -f search.log
fastnn tune examples/tune_parallel.yaml --storage search.log --verbose 1 > worker1.txt &
fastnn tune examples/tune_parallel.yaml --storage search.log --verbose 1 > worker2.txt &
wait
echo "worker 1 ran $(grep -c '^trial ' worker1.txt) trials, worker 2 ran $(grep -c '^trial ' worker2.txt)"
fastnn tune examples/tune_parallel.yaml --storage search.log   # all 12 done: trains nothing, prints the table

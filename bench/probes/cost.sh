#!/bin/bash
# usage: bench/probes/cost.sh PYTHONPATH prose|log -> instructions per analyze call (N=200 minus N=0)
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1 TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS=""
count() { PYTHONPATH=$1 nice valgrind --tool=callgrind --callgrind-out-file=/tmp/cg17.$$.out .venv/bin/python bench/probes/cost.py $2 $3 >/dev/null 2>/tmp/cg17.$$.err; grep -o "Collected : [0-9]*" /tmp/cg17.$$.err | grep -o "[0-9]*"; }
a=$(count "$1" $2 0); b=$(count "$1" $2 200)
echo "$2: $(( (b - a) / 200 )) instructions/call"

#!/usr/bin/env bash
# Times the learner's loop: edit one exercise file, run `make check CH=01`.
# Prints each run and the median. The edit is a comment appended to the file, so the
# exercise is recompiled exactly as after a real change; the file is restored at the end.
#
#   bash tests/measure_check_loop.sh [runs] [exercise file]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
file=${2:-exercises/01_single_head_attention/1_2_stable_softmax.cpp}
chapter=$(basename "$(dirname "$file")" | cut -c1-2)

backup=$(mktemp)
cp "$file" "$backup"
trap 'cp "$backup" "$file"; rm -f "$backup"' EXIT

make --no-print-directory check CH="$chapter" >/dev/null || true  # warm: everything else is built
times=()
for i in $(seq "$runs"); do
  echo "// edit $i" >>"$file"
  start=$(date +%s%N)
  make --no-print-directory check CH="$chapter" >/dev/null || true  # non-zero: exercises not passing
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  times+=("$ms")
  printf 'run %d: %d.%03d s\n' "$i" $((ms / 1000)) $((ms % 1000))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}')
printf 'median of %d runs (edit %s, then make check CH=%s): %d.%03d s\n' "$runs" "$file" "$chapter" \
  $((median / 1000)) $((median % 1000))

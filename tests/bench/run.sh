#!/bin/sh
# Runs every benchmark binary in <build>/tests/ (bench_*) and prints its
# output. Usage: tests/bench/run.sh [build-dir]   (default: build)
build=${1:-build}
dir="$build/tests"
if [ ! -d "$dir" ]; then
  echo "run.sh: $dir not found; build first (make build)" >&2
  exit 1
fi
status=0
found=0
for b in "$dir"/bench_*; do
  [ -f "$b" ] && [ -x "$b" ] || continue
  found=1
  echo "== $(basename "$b")"
  "$b" || { echo "run.sh: $(basename "$b") failed" >&2; status=1; }
  echo
done
if [ "$found" = 0 ]; then
  echo "run.sh: no bench_* binaries in $dir" >&2
  exit 1
fi
exit $status

#!/bin/sh
# Runs every benchmark binary in <build>/tests/ (bench_*) and prints its
# output. A benchmark that exits 77 needs something absent here (a GPU) and
# is reported as skipped. Usage: tests/bench/run.sh [build-dir]  (default:
# build). Exit status: 0 when every benchmark ran or skipped. With TORCH_PY
# set to a Python that has torch, bench_vs_torch also runs every shape in
# PyTorch (tests/bench/torch_side.py) and prints warmd / torch ratios.
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
  name=$(basename "$b")
  echo "== $name"
  "$b"
  rc=$?
  if [ "$rc" = 77 ]; then
    echo "run.sh: $name skipped"
  elif [ "$rc" != 0 ]; then
    echo "run.sh: $name failed (exit $rc)" >&2
    status=1
  fi
  echo
done
if [ "$found" = 0 ]; then
  echo "run.sh: no bench_* binaries in $dir" >&2
  exit 1
fi
exit $status

#!/bin/sh
# exports_test.sh BUILD_DIR SOURCE_DIR: libwarm exports the public API and
# nothing else, and needs no CUDA runtime; the CUDA backend library exports
# its one table; a cpu-only plugin links without libcudart.
set -eu
build=$1
src=$2
fail() { printf 'exports_test: %s\n' "$*" >&2; exit 1; }
lib=$build/lib/libwarm.so
[ -e "$lib" ] || fail "no $lib"

# nm -D --defined-only: every symbol is warm_* or wk_* (not wk__*), and
# each is declared in a public header.
syms=$(nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sed 's/@.*//')
n=0
for s in $syms; do
  n=$((n + 1))
  case $s in
    warm_*|wk_[!_]*) ;;
    *) fail "libwarm exports '$s', which is not public API" ;;
  esac
  grep -qw "$s" "$src"/sdk/include/warm/*.h "$src"/kernels/include/wk.h ||
    fail "libwarm exports '$s', declared in no public header"
done
[ "$n" -gt 100 ] || fail "only $n symbols exported: the version script ate the API"
echo "libwarm: $n symbols, all public"

ldd "$lib" | grep -q 'libcudart' && fail "libwarm.so needs libcudart"
for so in "$build"/plugins/hello_encoder.so "$build"/plugins/vae_ltxv.so; do
  [ -e "$so" ] || continue
  if ldd "$so" | grep -q 'libcudart\|libcublas'; then
    ldd "$so"
    fail "$(basename "$so") (a cpu-capable plugin) pulls in the CUDA runtime"
  fi
  echo "$(basename "$so"): no CUDA runtime"
done

cu=$build/lib/libwarm_cuda.so.1
if [ -e "$cu" ]; then
  got=$(nm -D --defined-only "$cu" | awk '$2 != "A" {print $3}')
  [ "$got" = wkcu_backend_table ] ||
    fail "libwarm_cuda exports more than its table: $got"
  ldd "$cu" | grep -q libcudart || fail "libwarm_cuda.so does not link libcudart"
  echo "libwarm_cuda: exports wkcu_backend_table only; carries the CUDA runtime"
fi
echo "exports_test: ok"

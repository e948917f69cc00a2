#!/usr/bin/env bash
# tests/gpu/check.sh — the ONE script a GPU session runs, from the repository
# root of a fresh H100/H200 box:
#
#     tests/gpu/check.sh            (or: make gpu-check)
#
# What the lent GPU machines have (see /work/.library/device/KINDS.md and the
# lead's notes): CUDA 13 toolkit + driver, cmake, ninja, python3 (+torch), a
# C compiler; NO network and NONE of our Debian -dev packages (libuv, inih,
# jansson, openblas, sentencepiece), and possibly no pkg-config binary. So:
#   1. deps: when `pkg-config --exists libuv` fails, every .deps/*.deb (Debian
#      12 packages fetched by tests/gpu/fetch-debs.sh; .deps/ is git-ignored, so pass it
#      in the run's carry list) is unpacked with `dpkg -x` (or a Python
#      ar+tar fallback) into /tmp/warm-deps, and PKG_CONFIG_SYSROOT_DIR /
#      PKG_CONFIG_PATH / PKG_CONFIG_LIBDIR / LD_LIBRARY_PATH point at it
#      (openblas.pc sits in the openblas-pthread alternatives folder, which
#      `find` picks up). Without a pkg-config binary, tests/gpu/
#      pkgconfig_shim.py stands in for it.
#   2. configure build-gpu with -DWARM_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90
#      and build everything (-j nproc); if the full build fails, the CUDA
#      test and benchmark targets alone are built and the check goes on.
#   3. ctest -L gpu (the benchmarks excluded: test_cuda_ops, every op
#      against the cpu backend; test_gemma3_cuda and test_ltxv_cuda, each
#      model plugin's CUDA output against its cpu output on the same
#      weights), compute-sanitizer memcheck
#      over test_cuda_ops when there is time, then bench_gpu and every
#      <build>/tests/gpubench_* binary other areas add.
#   4. a short table: card, commit, build/test status, every `RESULT key
#      value unit` line the benchmarks printed.
# Logs go to $OUT/gpu-check/ when $OUT is set (the device tool returns that
# folder), else to <build>/gpu-check/. The whole run is kept under 8 minutes:
# each phase has its own timeout. Exit status: 0 when the build and the gpu
# tests passed, 1 otherwise.
#
# Knobs (environment): WARM_GPU_BUILD (build folder), JOBS, WARM_DEPS_DIR
# (where .debs are unpacked), WARM_CHECK_TARGETS (build only these targets
# instead of all), and for rehearsing the deps path on a machine that has
# the packages: WARM_DEPS_FORCE=1 (unpack .deps even so) and
# WARM_PKGCONF_SHIM=1 (use the shim even when pkg-config exists).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BUILD=${WARM_GPU_BUILD:-$ROOT/build-gpu}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 8)}
DEPS_DIR=${WARM_DEPS_DIR:-/tmp/warm-deps}
LOGS=${OUT:+$OUT/gpu-check}
LOGS=${LOGS:-$BUILD/gpu-check}
mkdir -p "$LOGS" "$BUILD"
T0=$(date +%s)
status=0
notes=()

say() { printf '[check %4ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
note() { notes+=("$*"); say "$*"; }

# ---- card and commit ---------------------------------------------------------
CARD=$(nvidia-smi --query-gpu=name,driver_version,memory.total \
  --format=csv,noheader 2>/dev/null | head -n1)
CARD=${CARD:-"unknown (nvidia-smi failed)"}
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)
if [ -n "$COMMIT" ] && [ -n "$(git -C "$ROOT" status --porcelain \
  --untracked-files=no 2>/dev/null)" ]; then COMMIT="$COMMIT+dirty"; fi
if [ -z "$COMMIT" ] && [ -f "$ROOT/.git/HEAD" ]; then # .git without git
  ref=$(sed -n 's/^ref: //p' "$ROOT/.git/HEAD")
  if [ -z "$ref" ]; then
    COMMIT=$(cut -c1-7 "$ROOT/.git/HEAD")
  elif [ -f "$ROOT/.git/$ref" ]; then
    COMMIT=$(cut -c1-7 "$ROOT/.git/$ref")
  else
    COMMIT=$(awk -v r="$ref" '$2 == r { print substr($1, 1, 7) }' \
      "$ROOT/.git/packed-refs" 2>/dev/null)
  fi
fi
COMMIT=${COMMIT:-${WARM_COMMIT:-unknown (no .git; set WARM_COMMIT)}}
say "card: $CARD; commit: $COMMIT"

# ---- dependencies -------------------------------------------------------------
PKGS="libuv inih jansson openblas sentencepiece libpng"
if [ -z "${WARM_PKGCONF_SHIM:-}" ] && command -v pkg-config >/dev/null 2>&1; then
  PKGCONF=$(command -v pkg-config)
else
  PKGCONF="$ROOT/tests/gpu/pkgconfig_shim.py"
  note "pkg-config: using tests/gpu/pkgconfig_shim.py (no binary, or WARM_PKGCONF_SHIM)"
fi

# Unpacks one .deb without dpkg: an ar archive holding data.tar.{xz,gz,zst}.
unpack_deb_py() {
  python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
deb, dest = sys.argv[1], sys.argv[2]
data = open(deb, "rb").read()
assert data[:8] == b"!<arch>\n", "not an ar archive"
off = 8
while off + 60 <= len(data):
    name = data[off:off + 16].decode().strip().rstrip("/")
    size = int(data[off + 48:off + 58].decode().strip())
    body = data[off + 60:off + 60 + size]
    off += 60 + size + (size & 1)
    if name.startswith("data.tar"):
        if name.endswith(".zst"):
            sys.exit("zstd-compressed data: need dpkg")
        tarfile.open(fileobj=io.BytesIO(body)).extractall(dest)
        sys.exit(0)
sys.exit("no data.tar member")
PY
}

if [ -n "${WARM_DEPS_FORCE:-}" ] || ! "$PKGCONF" --exists $PKGS 2>/dev/null; then
  debs=("$ROOT"/.deps/*.deb)
  if [ ! -e "${debs[0]}" ]; then
    note "missing: $(for p in $PKGS; do "$PKGCONF" --exists $p 2>/dev/null || printf '%s ' $p; done)and no .deps/*.deb to unpack (carry .deps)"
  else
    say "unpacking ${#debs[@]} .deb files into $DEPS_DIR"
    mkdir -p "$DEPS_DIR"
    for d in "${debs[@]}"; do
      if command -v dpkg >/dev/null 2>&1; then
        dpkg -x "$d" "$DEPS_DIR" || note "dpkg -x failed: $d"
      else
        unpack_deb_py "$d" "$DEPS_DIR" || note "unpack failed: $d"
      fi
    done
    pcdirs=$(find "$DEPS_DIR" -name '*.pc' -printf '%h\n' | sort -u | paste -sd: -)
    libdirs=$(find "$DEPS_DIR" \( -name '*.so' -o -name '*.so.*' \) -printf '%h\n' |
      sort -u | paste -sd: -)
    export PKG_CONFIG_SYSROOT_DIR="$DEPS_DIR"
    export PKG_CONFIG_PATH="$pcdirs"
    export PKG_CONFIG_LIBDIR="$pcdirs" # only the unpacked tree: the sysroot
    export LD_LIBRARY_PATH="$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    # find_library / find_path look there too (libraries without a .pc).
    export CMAKE_PREFIX_PATH="$DEPS_DIR/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
    say "PKG_CONFIG_PATH=$pcdirs"
  fi
fi
missing=""
for p in $PKGS; do "$PKGCONF" --exists "$p" 2>/dev/null || missing="$missing $p"; done
[ -n "$missing" ] && note "still missing after unpacking:$missing"
for h in uv.h ini.h jansson.h cblas.h sentencepiece_processor.h; do
  found=$(find /usr/include /usr/local/include "$DEPS_DIR/usr/include" \
    -name "$h" -print -quit 2>/dev/null)
  [ -z "$found" ] && note "header $h not found"
done

# ---- configure and build --------------------------------------------------------
GEN=()
command -v ninja >/dev/null 2>&1 && [ ! -f "$BUILD/Makefile" ] && GEN=(-G Ninja)
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
say "configuring $BUILD"
if ! timeout 120 cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWARM_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$NVCC" \
  -DPKG_CONFIG_EXECUTABLE="$PKGCONF" >"$LOGS/configure.log" 2>&1; then
  note "configure FAILED (log: configure.log)"
  tail -n 30 "$LOGS/configure.log"
  BUILD_STATUS="configure failed"
  status=1
else
  targets=()
  for t in ${WARM_CHECK_TARGETS:-}; do targets+=(--target "$t"); done
  say "building (-j$JOBS) ${WARM_CHECK_TARGETS:-all}"
  if timeout 300 cmake --build "$BUILD" -j "$JOBS" "${targets[@]}" \
    >"$LOGS/build.log" 2>&1; then
    BUILD_STATUS="ok (${WARM_CHECK_TARGETS:-full})"
  else
    note "full build FAILED (log: build.log); building the CUDA targets alone"
    grep -E "error|Error" "$LOGS/build.log" | head -n 20
    if timeout 180 cmake --build "$BUILD" -j "$JOBS" --target test_cuda_ops \
      bench_gpu >"$LOGS/build-cuda.log" 2>&1; then
      BUILD_STATUS="partial (CUDA targets only)"
    else
      BUILD_STATUS="failed"
      tail -n 30 "$LOGS/build-cuda.log"
    fi
    status=1
  fi
fi
say "build: $BUILD_STATUS"

# ---- gpu tests ------------------------------------------------------------------
TEST_STATUS="not run"
if [ -f "$BUILD/CTestTestfile.cmake" ]; then
  say "ctest -L gpu"
  (cd "$BUILD" && timeout 240 ctest -L gpu -LE bench --output-on-failure \
    --timeout 200) >"$LOGS/ctest.log" 2>&1
  rc=$?
  grep -E "tests passed|Test +#|SKIP|FAIL|rel err .*>" "$LOGS/ctest.log" | tail -n 40
  TEST_STATUS=$(grep -E "tests passed" "$LOGS/ctest.log" | tail -n1)
  if [ $rc -ne 0 ]; then
    status=1
    TEST_STATUS="FAILED: ${TEST_STATUS:-ctest rc $rc}"
    tail -n 60 "$LOGS/ctest.log"
  fi
  # A skipped CUDA test on a GPU box means the device was not usable.
  if grep -q "SKIP: no CUDA device" "$BUILD"/Testing/Temporary/LastTest.log 2>/dev/null; then
    status=1
    TEST_STATUS="$TEST_STATUS (CUDA tests SKIPPED: no usable device)"
  fi
fi

# ---- compute-sanitizer over the CUDA op test (when time allows) -------------------
SAN_STATUS="not run"
SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
if [ -n "$SAN" ] && [ -x "$BUILD/tests/test_cuda_ops" ] &&
  [ $(($(date +%s) - T0)) -lt 260 ]; then
  say "compute-sanitizer memcheck on test_cuda_ops"
  (cd "$BUILD/tests" && timeout 120 "$SAN" --tool memcheck --error-exitcode 9 \
    ./test_cuda_ops) >"$LOGS/memcheck.log" 2>&1
  rc=$?
  SAN_STATUS="$(grep -E "ERROR SUMMARY" "$LOGS/memcheck.log" | tail -n1) (rc $rc)"
  [ $rc -eq 77 ] && SAN_STATUS="skipped (no CUDA device)"
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    status=1
    grep -E "Invalid|ERROR|at 0x|by thread|FAIL" "$LOGS/memcheck.log" | head -n 30
  fi
fi

# ---- benchmarks -------------------------------------------------------------------
benches=()
[ -x "$BUILD/tests/bench_gpu" ] && benches+=("$BUILD/tests/bench_gpu")
for b in "$BUILD"/tests/gpubench_*; do [ -x "$b" ] && [ -f "$b" ] && benches+=("$b"); done
: >"$LOGS/results.txt"
for b in "${benches[@]}"; do
  name=$(basename "$b")
  left=$((460 - ($(date +%s) - T0)))
  if [ $left -lt 20 ]; then
    note "$name not run: out of time"
    continue
  fi
  lim=$((left < 180 ? left : 180))
  say "running $name (limit ${lim}s)"
  (cd "$BUILD/tests" && timeout "$lim" "$b") >"$LOGS/$name.log" 2>&1
  rc=$?
  grep -v '^RESULT ' "$LOGS/$name.log" | tail -n 15
  grep '^RESULT ' "$LOGS/$name.log" | sed "s/^RESULT /$name /" >>"$LOGS/results.txt"
  [ $rc -ne 0 ] && note "$name exited $rc"
done

# ---- table ----------------------------------------------------------------------
{
  echo
  echo "==================== warmd GPU check ===================="
  printf '%-12s %s\n' card "$CARD" commit "$COMMIT" build "$BUILD_STATUS" \
    "gpu tests" "$TEST_STATUS" memcheck "$SAN_STATUS" time "$(($(date +%s) - T0)) s"
  for n in "${notes[@]}"; do printf '%-12s %s\n' note "$n"; done
  echo "---------------------------------------------------------"
  if [ -s "$LOGS/results.txt" ]; then
    awk '{ printf "%-16s %-40s %12s %s\n", $1, $2, $3, $4 }' "$LOGS/results.txt"
  else
    echo "(no benchmark results)"
  fi
  # The LTX-2 text encoder's figure (issue 11): device bytes of a streamed
  # encode at Gemma-3-12B shape with the 2.3 projection, beyond the non-layer
  # weights (Gemma window + one layer's activations + the accumulators).
  awk '$2 == "ltx2_text_stream_beyond_nonlayer" {
         printf "ltx2 text: streamed 12B encode + 2.3 projection: %s %s beyond non-layer weights (target <= 1.2 GB)\n", $3, $4 }' \
    "$LOGS/results.txt"
  echo "========================================================="
} | tee "$LOGS/table.txt"
exit $status

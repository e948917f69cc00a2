#!/usr/bin/env bash
# tests/mutants/run.sh — `make mutants`: plants each curated bug of
# tests/mutants/*.mut, one at a time, in a copy of the tree, rebuilds only
# the targets the mutant names, runs only the tests it names, and prints a
# table. A mutant is killed when a test fails; it survives when they all
# pass. Exit status 1 when any mutant survived (or did not apply, or did
# not build), 0 when every one was killed.
#
# A .mut file is "key: value" lines (# starts a comment):
#   file:    the source file, relative to the repository root
#   from:    the exact text to replace; it must occur exactly once
#   to:      its replacement (\n in from/to stands for a newline)
#   targets: the CMake targets to rebuild (tests and what they run)
#   tests:   a ctest -R regex (fixtures the tests need run too)
#   timeout: seconds for its tests (optional; default MUTANT_TIMEOUT); a
#            mutant whose tests hang past it counts as killed
#
# The copy lives in $MUTANTS_DIR (default <root>/build-mutants): src/ is
# synced from the working tree (git's tracked and untracked, not ignored,
# files; only changed files are rewritten, so builds stay incremental),
# build/ is its CMake build (RelWithDebInfo, no CUDA). Before the mutants,
# the unmutated tree must build and pass every named test (the baseline),
# or the table would mean nothing.
#
# Environment: MUTANTS="a b" runs only those (file names without .mut),
# MUTANTS_LIST (another folder of .mut files),
# MUTANTS_DIR, JOBS, MUTANT_TIMEOUT (seconds per mutant's tests, default
# 300), MUTANTS_BASELINE=0 skips the baseline run.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIST=${MUTANTS_LIST:-$ROOT/tests/mutants}
WORK=${MUTANTS_DIR:-$ROOT/build-mutants}
SRC=$WORK/src
BUILD=$WORK/build
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
TMO=${MUTANT_TIMEOUT:-300}
LOGS=$WORK/logs
mkdir -p "$SRC" "$BUILD" "$LOGS"

say() { printf '[mutants] %s\n' "$*" >&2; }

# ---- the copy ---------------------------------------------------------------
sync_tree() {
  local n=0 f
  while IFS= read -r -d '' f; do
    [ -f "$ROOT/$f" ] || continue
    if ! cmp -s "$ROOT/$f" "$SRC/$f"; then
      mkdir -p "$SRC/$(dirname "$f")"
      cp "$ROOT/$f" "$SRC/$f" # a fresh mtime: make rebuilds what uses it
      n=$((n + 1))
    fi
  done < <(git -C "$ROOT" ls-files -z -co --exclude-standard)
  say "synced $n changed file(s) into $SRC"
}

# ---- the mutant files -------------------------------------------------------
# Sets M_FILE M_FROM M_TO M_TARGETS M_TESTS from one .mut file.
read_mut() {
  M_FILE="" M_FROM="" M_TO="" M_TARGETS="" M_TESTS="" M_TIMEOUT=$TMO
  local line key val
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '#'* | '') continue ;; esac
    key=${line%%:*}
    val=${line#*: }
    case "$key" in
    file) M_FILE=$val ;;
    from) M_FROM=$val ;;
    to) M_TO=$val ;;
    targets) M_TARGETS=$val ;;
    tests) M_TESTS=$val ;;
    timeout) M_TIMEOUT=$val ;;
    *) say "$1: unknown key '$key'" && return 1 ;;
    esac
  done <"$1"
  [ -n "$M_FILE" ] && [ -n "$M_FROM" ] && [ -n "$M_TARGETS" ] &&
    [ -n "$M_TESTS" ] || { say "$1: needs file, from, to, targets, tests"; return 1; }
}

# Replaces the one occurrence of $M_FROM in $SRC/$M_FILE; 1 when it does
# not occur exactly once.
apply_mut() {
  # perl -i skips a missing file with only a warning: refuse it here.
  [ -f "$SRC/$M_FILE" ] || { echo "no file $M_FILE"; return 1; }
  FROM=$M_FROM TO=$M_TO perl -0777 -i -pe '
    BEGIN { ($f, $t) = ($ENV{FROM}, $ENV{TO}); s/\\n/\n/g for $f, $t; }
    $n = () = /\Q$f\E/g;
    if ($n != 1) { print STDERR "found $n times\n"; $bad = 1; }
    else { s/\Q$f\E/$t/; }
    END { exit($bad ? 1 : 0); }' "$SRC/$M_FILE"
}

build_targets() { # targets... ; log
  local log=$1
  shift
  local args=()
  for t in "$@"; do args+=(--target "$t"); done
  timeout 1200 cmake --build "$BUILD" -j "$JOBS" "${args[@]}" >"$log" 2>&1
}

# The names of the tests a ctest -R regex selects, one per line.
test_names() {
  (cd "$BUILD" && ctest -N -R "$1") | sed -n 's/^ *Test *#[0-9]*: *//p'
}

# Runs ctest -R regex within `limit` seconds (the tests' own TIMEOUT
# properties are longer); sets T_RUN (tests run) and returns ctest's status,
# 124 when it ran out of time, 2 when the regex selects no test (a mistake
# in the list, never a kill).
run_tests() { # regex log limit
  (cd "$BUILD" && timeout "$3" ctest -R "$1" --timeout "$3" \
    --output-on-failure) >"$2" 2>&1
  local rc=$?
  T_RUN=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$2" | tail -n1)
  [ -n "$T_RUN" ] || T_RUN=0
  [ $rc -eq 124 ] && return 124 # the tests hung past the limit: a kill
  if [ "$T_RUN" = 0 ]; then return 2; fi
  return $rc
}

# ---- main -------------------------------------------------------------------
muts=()
if [ -n "${MUTANTS:-}" ]; then
  for m in $MUTANTS; do muts+=("$LIST/$m.mut"); done
else
  muts=("$LIST"/*.mut)
fi
[ -e "${muts[0]}" ] || { say "no mutants in $LIST"; exit 1; }

sync_tree
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  say "configuring $BUILD"
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWARM_CUDA=OFF >"$LOGS/configure.log" 2>&1 ||
    { tail -n 30 "$LOGS/configure.log"; exit 1; }
fi

all_targets=""
for m in "${muts[@]}"; do
  read_mut "$m" || exit 1
  all_targets="$all_targets $M_TARGETS"
done
all_targets=$(tr ' ' '\n' <<<"$all_targets" | sort -u | tr '\n' ' ')
say "building the unmutated tree ($all_targets)"
# shellcheck disable=SC2086
build_targets "$LOGS/baseline-build.log" $all_targets ||
  { tail -n 30 "$LOGS/baseline-build.log"; say "the unmutated tree does not build"; exit 1; }
if [ "${MUTANTS_BASELINE:-1}" != 0 ]; then
  # ctest's regex engine takes few groups: run the union by name.
  names=$(for m in "${muts[@]}"; do
    read_mut "$m" && test_names "$M_TESTS"
  done | sort -u | paste -sd'|' -)
  [ -n "$names" ] || { say "the mutants' tests select no test"; exit 1; }
  say "baseline: the named tests on the unmutated tree"
  t0=$(date +%s)
  if ! run_tests "^($names)\$" "$LOGS/baseline-tests.log" 1800; then
    grep -E "Failed|\*\*\*" "$LOGS/baseline-tests.log" | head -n 20
    say "the unmutated tree fails its tests (log: $LOGS/baseline-tests.log)"
    exit 1
  fi
  say "baseline: $T_RUN tests pass ($(($(date +%s) - t0)) s)"
fi

rows=()
survived=0
for m in "${muts[@]}"; do
  name=$(basename "$m" .mut)
  read_mut "$m" || exit 1
  t0=$(date +%s)
  result="" T_RUN=0
  if ! apply_mut 2>"$LOGS/$name.apply.log"; then
    result="DID NOT APPLY ($(cat "$LOGS/$name.apply.log"))"
  else
    # shellcheck disable=SC2086
    if ! build_targets "$LOGS/$name.build.log" $M_TARGETS; then
      result="DOES NOT BUILD (log: logs/$name.build.log)"
    else
      run_tests "$M_TESTS" "$LOGS/$name.tests.log" "$M_TIMEOUT"
      case $? in
      0) result="SURVIVED" ;;
      2) result="NO TESTS (tests: $M_TESTS)" ;;
      124) result="killed (hung past ${M_TIMEOUT} s)" ;;
      *) result="killed" ;;
      esac
    fi
    cp "$ROOT/$M_FILE" "$SRC/$M_FILE" # restored with a fresh mtime
  fi
  [ "$result" = killed ] || survived=$((survived + 1))
  secs=$(($(date +%s) - t0))
  say "$name: $result ($T_RUN tests, $secs s)"
  rows+=("$(printf '%-34s %-54s %4s  %-9s %4s' "$name" "$M_TESTS" "$T_RUN" \
    "$result" "$secs")")
done

printf '\n%-34s %-54s %4s  %-9s %4s\n' mutant "tests (-R)" run result "s"
printf '%s\n' "${rows[@]}"
printf '\n%d mutant(s), %d killed, %d not killed\n' "${#muts[@]}" \
  $((${#muts[@]} - survived)) "$survived"
[ "$survived" -eq 0 ]

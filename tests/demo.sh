#!/bin/sh
# `make demo`: start warmd with conf/demo.ini in a temporary folder, show its
# components and memory through warmctl, stop it with SIGTERM and check that
# it exited 0 and removed its socket.
#   usage: tests/demo.sh [BUILD_DIR]    (default: build)
set -eu

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
WARMD=$BUILD/bin/warmd
WARMCTL=$BUILD/bin/warmctl
for f in "$WARMD" "$WARMCTL" "$BUILD/plugins/hello_encoder.so"; do
  [ -e "$f" ] || { echo "demo: $f is missing; build first (make build)" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/warmd-demo.XXXXXX")
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# The demo config as shipped, with its plugin_dir and socket pointed here.
sed -e "s|^plugin_dir *=.*|plugin_dir = $BUILD/plugins|" \
    -e "s|^admin_socket *=.*|admin_socket = $TMP/admin.sock|" \
    "$ROOT/conf/demo.ini" > "$TMP/demo.ini"

echo "== warmd -t -c demo.ini"
"$WARMD" -t -c "$TMP/demo.ini"

echo "== starting warmd (log: $TMP/warmd.log)"
"$WARMD" -c "$TMP/demo.ini" 2> "$TMP/warmd.log" &
PID=$!

# Wait until the socket answers (or warmd dies), at most 30 s.
i=0
until "$WARMCTL" -s "$TMP/admin.sock" show info > /dev/null 2>&1; do
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "demo: warmd exited early:" >&2; cat "$TMP/warmd.log" >&2; exit 1
  fi
  i=$((i + 1))
  [ $i -lt 300 ] || { echo "demo: warmd did not come up" >&2; exit 1; }
  sleep 0.1
done

echo "== warmctl show components"
"$WARMCTL" -s "$TMP/admin.sock" show components
echo "== warmctl show memory"
"$WARMCTL" -s "$TMP/admin.sock" show memory

echo "== SIGTERM"
kill -TERM "$PID"
set +e
wait "$PID"
STATUS=$?
set -e
PID=
cat "$TMP/warmd.log"
if [ "$STATUS" -ne 0 ]; then
  echo "demo: warmd exited with status $STATUS" >&2; exit 1
fi
if [ -e "$TMP/admin.sock" ]; then
  echo "demo: warmd left its socket behind" >&2; exit 1
fi
echo "== warmd stopped cleanly (exit 0, socket removed)"

#!/bin/sh
# `make demo`: make the demo models if they are missing (models/demo/, git-
# ignored), check conf/demo.ini with `warmd -t`, then run one text-to-video
# job on the cpu with `warmd --once` into out/demo/ and print its summary.
#   usage: tests/demo.sh [BUILD_DIR]    (default: build)
set -eu

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
WARMD=$BUILD/bin/warmd
MKMODEL=$BUILD/bin/warm-mkmodel
for f in "$WARMD" "$MKMODEL" "$BUILD/plugins/text_encoder_gemma3.so" \
         "$BUILD/plugins/transformer_ltxv.so" "$BUILD/plugins/vae_ltxv.so"; do
  [ -e "$f" ] || { echo "demo: $f is missing; build first (make build)" >&2; exit 1; }
done

# Small random-weight checkpoints with the reference libraries' names and
# shapes; the same seed always gives the same bytes.
MODELS=$ROOT/models/demo
mk() { # name arch seed [--set k=v ...]
  name=$1 arch=$2 seed=$3
  shift 3
  [ -f "$MODELS/$name/config.json" ] && return 0
  echo "== warm-mkmodel --arch $arch --preset small --seed $seed $* -> models/demo/$name"
  "$MKMODEL" --arch "$arch" --preset small --seed "$seed" "$@" --out "$MODELS/$name" > /dev/null
}
mk enc gemma3 1
mk dit1 ltxv 2 --set caption_channels=256
mk dit2 ltxv 3 --set caption_channels=256
mk vae ltxv-vae 4

# The shipped demo config, pointed at this build's plugins.
CONF=$ROOT/conf/demo.ini
if [ "$BUILD" != "$ROOT/build" ]; then
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/warmd-demo.XXXXXX")
  trap 'rm -rf "$TMP"' EXIT INT TERM
  sed -e "s|^plugin_dir *=.*|plugin_dir = $BUILD/plugins|" \
      -e "s|\.\./models/|$ROOT/models/|" -e "s|^output_dir *=.*|output_dir = $ROOT/out|" \
      "$CONF" > "$TMP/demo.ini"
  CONF=$TMP/demo.ini
fi

echo "== warmd -t -c conf/demo.ini"
"$WARMD" -t -c "$CONF"

OUT=$ROOT/out/demo
echo "== warmd -c conf/demo.ini --once --prompt ... --seed 42 --out out/demo"
"$WARMD" -c "$CONF" --once --seed 42 --out "$OUT" \
  --prompt "a red fox trotting through fresh snow at dawn, soft light"
echo
echo "play it:  mpv out/demo/video.mp4   (lossless frames: out/demo/video.y4m)"
echo "look at:  out/demo/preview.png (frames), out/demo/memory.png (bytes per component over time)"

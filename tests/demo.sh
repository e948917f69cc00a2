#!/bin/sh
# `make demo`: make the demo models if they are missing (models/demo/, git-
# ignored), check the demo config with `warmd -t`, then run one job on the
# cpu with `warmd --once` into out/demo/ (or out/demo-ltxv/) and print its
# summary.
#   usage: tests/demo.sh [BUILD_DIR [ltx2|ltxv]]    (default: build ltx2)
#   ltx2: conf/demo.ini, an LTX-2 two-stage job with sound -> video.mp4
#   ltxv: conf/demo-ltxv.ini, the LTX-Video pipeline
set -eu

BUILD=${1:-build}
KIND=${2:-ltx2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
WARMD=$BUILD/bin/warmd
MKMODEL=$BUILD/bin/warm-mkmodel
case $KIND in
  ltx2) PLUGINS="text_encoder_ltx2 transformer_ltx2 upsampler_ltx2 vae_ltx2 audio_ltx2"
        CONF=$ROOT/conf/demo.ini OUT=$ROOT/out/demo ;;
  ltxv) PLUGINS="text_encoder_gemma3 transformer_ltxv vae_ltxv"
        CONF=$ROOT/conf/demo-ltxv.ini OUT=$ROOT/out/demo-ltxv ;;
  *) echo "demo: unknown demo '$KIND' (ltx2 or ltxv)" >&2; exit 2 ;;
esac
for f in "$WARMD" "$MKMODEL"; do
  [ -e "$f" ] || { echo "demo: $f is missing; build first (make build)" >&2; exit 1; }
done
for p in $PLUGINS; do
  [ -e "$BUILD/plugins/$p.so" ] ||
    { echo "demo: $BUILD/plugins/$p.so is missing; build first (make build)" >&2; exit 1; }
done

# Small random-weight checkpoints with the reference libraries' names and
# shapes; the same seed always gives the same bytes.
MODELS=$ROOT/models/demo
mk() { # name arch seed [args ...]: a folder (config.json) or one file
  name=$1 arch=$2 seed=$3
  shift 3
  [ -f "$MODELS/$name/config.json" ] || [ -f "$MODELS/$name" ] && return 0
  echo "== warm-mkmodel --arch $arch --preset small --seed $seed $* -> models/demo/$name"
  "$MKMODEL" --arch "$arch" --preset small --seed "$seed" "$@" --out "$MODELS/$name" > /dev/null
}
if [ "$KIND" = ltx2 ]; then
  mk gemma gemma3 1
  mk ltx2.safetensors ltx2 5 --variant 2.0
  mk upsampler.safetensors ltx2-upsampler 6 --variant 2.0
  mk distilled-lora.safetensors ltx2-lora 7 --variant 2.0 --rank 8
else
  mk enc gemma3 1
  mk dit1 ltxv 2 --set caption_channels=256
  mk dit2 ltxv 3 --set caption_channels=256
  mk vae ltxv-vae 4
fi

# The shipped demo config, pointed at this build's plugins.
if [ "$BUILD" != "$ROOT/build" ]; then
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/warmd-demo.XXXXXX")
  trap 'rm -rf "$TMP"' EXIT INT TERM
  sed -e "s|^plugin_dir *=.*|plugin_dir = $BUILD/plugins|" \
      -e "s|\.\./models/|$ROOT/models/|" -e "s|^output_dir *=.*|output_dir = $ROOT/out|" \
      "$CONF" > "$TMP/$(basename "$CONF")"
  CONF=$TMP/$(basename "$CONF")
fi
NAME=conf/$(basename "$CONF") DIR=out/$(basename "$OUT")

echo "== warmd -t -c $NAME"
"$WARMD" -t -c "$CONF"

echo "== warmd -c $NAME --once --prompt ... --seed 42 --out $DIR"
"$WARMD" -c "$CONF" --once --seed 42 --out "$OUT" \
  --prompt "a red fox trotting through fresh snow at dawn, soft light, wind"
echo
echo "play it:  mpv $DIR/video.mp4"
[ "$KIND" = ltx2 ] && echo "listen:   $DIR/audio.wav"
echo "look at:  $DIR/preview.png (frames), $DIR/memory.png (bytes per component over time)"

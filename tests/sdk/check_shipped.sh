#!/bin/sh
# check_shipped.sh BUILD_DIR PLUGIN [auto]: makes a tiny random checkpoint
# for a shipped plugin with warm-mkmodel and runs warm-plugin-check on it with
# the inputs its kind needs — or, with `auto`, with none, so the checker
# builds them from the plugin's info(). Exit status is the checker's.
set -eu
build=$1; plugin=$2; mode=${3:-explicit}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/warm-chk.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mk() { "$build/bin/warm-mkmodel" --seed 7 --preset tiny --quiet --out "$tmp/w" "$@"; }
chk="$build/bin/warm-plugin-check $build/plugins/$plugin.so --weights $tmp/w"
case $plugin in
text_encoder_gemma3)
  mk --arch gemma3
  exec $chk --max-tokens 16 ;;
transformer_ltxv) # tiny: in_channels 8, caption_channels 24
  mk --arch ltxv
  [ "$mode" = auto ] && exec $chk
  exec $chk --input latents=1x8x2x4x4 --input timestep=1 \
    --input embeddings=1x8x24 --input mask=1x8 \
    --shape frames=9,height=128,width=128,batch=1,max_tokens=8 ;;
vae_ltxv) # tiny: latent_channels 8
  mk --arch ltxv-vae
  [ "$mode" = auto ] && exec $chk
  exec $chk --input latents=8x2x4x4 --shape frames=9,height=32,width=32 ;;
*) echo "check_shipped.sh: no recipe for $plugin" >&2; exit 2 ;;
esac

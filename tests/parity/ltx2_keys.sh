#!/bin/sh
# ctest wrapper for ltx2_keys.py check: writes the tiny 2.0 and 2.3 files
# (combined, LoRA, upsampler) with warm-mkmodel and loads them into ltx-core
# strictly. Skips (77) where Python or ltx-core is absent: CI does not need
# them, the committed goldens are what the other tests compare against.
# usage: ltx2_keys.sh BUILD_DIR
set -eu
build=$1
here=$(dirname "$0")
export PYTHONPATH=$(cd "$(dirname "$0")" && pwd)/pystub${PYTHONPATH:+:$PYTHONPATH}
if ! python3 -c "import ltx_core, safetensors, torch" 2>/dev/null; then
  echo "SKIP: python3 with ltx-core, safetensors and torch is not installed"
  exit 77
fi
dir=$(mktemp -d /tmp/warm_ltx2_keys.XXXXXX)
trap 'rm -rf "$dir"' EXIT
mk=$build/bin/warm-mkmodel
files=""
for v in 2.0 2.3; do
  "$mk" --arch ltx2 --variant $v --seed 11 --out "$dir/base_$v.safetensors" --quiet
  "$mk" --arch ltx2-lora --variant $v --rank 3 --seed 12 --out "$dir/lora_$v.safetensors" --quiet
  "$mk" --arch ltx2-upsampler --variant $v --seed 13 --out "$dir/up_$v.safetensors" --quiet
  files="$files $dir/base_$v.safetensors $dir/lora_$v.safetensors $dir/up_$v.safetensors"
done
# shellcheck disable=SC2086
exec python3 "$here/ltx2_keys.py" check $files

#!/bin/sh
# Downloads (does not install) the Debian 12 packages warmd builds against
# into .deps/, for a GPU machine that has CUDA but neither our -dev packages
# nor network access: tests/gpu/check.sh unpacks them there. Run it here,
# then hand .deps to the GPU run (the device tool: carry [".deps"]).
set -eu
cd "$(dirname "$0")/../.."
mkdir -p .deps
cd .deps
apt-get download libuv1 libuv1-dev libinih1 libinih-dev libinireader0 \
  libjansson4 libjansson-dev libopenblas0 libopenblas0-pthread \
  libopenblas-dev libopenblas-pthread-dev libgfortran5 libblas3 liblapack3 \
  libsentencepiece0 libsentencepiece-dev libprotobuf-lite32 libpng-dev \
  libpng16-16 zlib1g-dev libhttp-parser2.9 libhttp-parser-dev
ls -1 | wc -l | xargs echo "packages in .deps:"

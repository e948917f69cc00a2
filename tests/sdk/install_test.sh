#!/bin/sh
# install_test.sh BUILD_DIR: installs the build into a temporary prefix, then
# builds the installed hello_encoder example out of tree twice — with CMake's
# find_package(warm), and with a plain cc line from `pkg-config --cflags
# --libs warm` — and runs the installed warm-plugin-check on both results.
set -eu
build=$1
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/warm-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix
step() { printf '== %s\n' "$*"; }
fail() { printf 'install_test: %s\n' "$*" >&2; exit 1; }

step "cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "cmake --install failed"; }

step "installed layout"
for f in include/warm/warm.h include/warm/plugin.h include/warm/tensor.h \
         include/warm/ledger.h include/warm/loader.h include/warm/version.h \
         include/warm/wk.h lib/libwarm.so lib/pkgconfig/warm.pc \
         lib/systemd/system/warmd.service share/doc/warmd/operations.md \
         share/doc/warmd/deploy.md \
         lib/cmake/warm/warmConfig.cmake lib/cmake/warm/warmConfigVersion.cmake \
         lib/cmake/warm/warmTargets.cmake bin/warm-plugin-check \
         lib/warmd/plugins/hello_encoder.so \
         share/warmd/examples/hello_encoder/CMakeLists.txt \
         share/warmd/examples/hello_encoder/hello_encoder.c; do
  [ -e "$prefix/$f" ] || fail "missing $f"
done
[ ! -e "$prefix/include/wk.h" ] || fail "wk.h belongs under include/warm/"
grep -q "^ExecStart=$prefix/bin/warmd " "$prefix/lib/systemd/system/warmd.service" ||
  fail "warmd.service does not start $prefix/bin/warmd"
if grep -q -- "-rpath" "$prefix/lib/pkgconfig/warm.pc"; then
  fail "warm.pc carries an rpath"
fi
# The installed example configs load the installed plugins.
conf=$prefix/share/warmd/conf
pd=$(sed -n 's/^plugin_dir = \([^ ;]*\).*/\1/p' "$conf/demo.ini")
case $pd in /*) fail "demo.ini's plugin_dir is absolute ($pd): not relocatable" ;; esac
[ -e "$conf/$pd/vae_ltx2.so" ] || fail "demo.ini's plugin_dir $pd has no vae_ltx2.so"
grep -q "^plugin_dir = $prefix/lib/warmd/plugins" "$conf/warmd.ini" ||
  fail "warmd.ini's plugin_dir is not $prefix/lib/warmd/plugins"
echo "demo.ini: plugin_dir = $pd"
soname=$(readelf -d "$prefix/lib/libwarm.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libwarm.so.1 ] || fail "libwarm soname is '$soname', want libwarm.so.1"
[ -e "$prefix/lib/$soname" ] || fail "missing lib/$soname"
echo "soname $soname"

src=$prefix/share/warmd/examples/hello_encoder
step "out of tree with find_package(warm)"
cmake -S "$src" -B "$tmp/with-cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 ||
  { cat "$tmp/cmake.log"; fail "configure against the installed SDK failed"; }
cmake --build "$tmp/with-cmake" >>"$tmp/cmake.log" 2>&1 ||
  { cat "$tmp/cmake.log"; fail "build against the installed SDK failed"; }
[ -f "$tmp/with-cmake/hello_encoder.so" ] || fail "no hello_encoder.so (cmake)"

step "out of tree with pkg-config alone"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs warm) || fail "pkg-config cannot find warm"
echo "pkg-config: $flags"
mkdir -p "$tmp/with-pc"
# shellcheck disable=SC2086 # flags are meant to split
"$cc" -std=c11 -O2 -fPIC -shared -fvisibility=hidden \
  -o "$tmp/with-pc/hello_encoder.so" "$src/hello_encoder.c" $flags -lm ||
  fail "plain cc build with pkg-config flags failed"

# Only the installed tree: nothing from the build folder on the path.
unset LD_LIBRARY_PATH
for so in "$tmp/with-cmake/hello_encoder.so" "$tmp/with-pc/hello_encoder.so"; do
  step "warm-plugin-check $so"
  "$prefix/bin/warm-plugin-check" "$so" || fail "checker failed on $so"
done
if ldd "$tmp/with-pc/hello_encoder.so" | grep -q "libcudart"; then
  fail "a cpu-only plugin pulls in the CUDA runtime"
fi
if ldd "$tmp/with-pc/hello_encoder.so" | grep -q "libwarm.so.1 => $build"; then
  fail "the pkg-config build resolved libwarm from the build folder"
fi
echo "install_test: ok"

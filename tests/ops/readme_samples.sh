#!/bin/sh
# readme_samples.sh BUILD_DIR SOURCE_DIR: the README's `warmd -t` sample is
# what warmd -t really prints for conf/warmd.ini (paths under /src/warmd).
# The sample is from a machine without a GPU; with one the output differs
# and the test skips.
set -eu
build=$1
src=$(cd "$2" && pwd)
got=$("$build/bin/warmd" -t -c "$src/conf/warmd.ini" 2>&1 || true)
case $got in
  *"no CUDA device"*) ;;
  *) echo "SKIP: this machine has a GPU; the README sample is for one without"
     exit 77 ;;
esac
# What differs between machines and runs: the source path, the log lines'
# timestamps and the machine's memory in the budget warning.
norm() {
  sed -e "s|$src/|/src/warmd/|g" \
      -e 's|^[0-9][0-9T:.-]*Z ||' \
      -e 's|than the [0-9.]* [KMGT]iB this machine has|than the N GiB this machine has|'
}
got=$(printf '%s\n' "$got" | norm)
want=$(sed -n '/^\$ build\/bin\/warmd -t -c conf\/warmd.ini/,/^```/p' \
         "$src/README.md" | sed '1d;$d' | norm)
if [ "$got" != "$want" ]; then
  echo "README's warmd -t sample:"; printf '%s\n' "$want"
  echo "warmd -t prints:"; printf '%s\n' "$got"
  exit 1
fi
echo "readme_samples: the -t sample matches"

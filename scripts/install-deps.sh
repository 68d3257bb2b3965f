#!/usr/bin/env bash
# Installs the Debian packages the attention book needs, and only those that are missing.
# As root it installs directly, otherwise through sudo (which may ask for a password). When it
# cannot install, it stops with the exact command to run.
set -euo pipefail

# Extra packages for a particular job can be named on the command line (e.g. clang for CI).
packages=(
  "$@"
  build-essential cmake ninja-build python3
  libxtensor-dev libxtensor-blas-dev libopenblas-dev
  catch2 libbenchmark-dev
  doxygen graphviz libjs-mathjax doxygen-awesome-css
  openmpi-bin libopenmpi-dev
)

# One dpkg-query for all packages: this runs before every make command, so it must be quick.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)
missing=()
for p in "${packages[@]}"; do
  grep -qx "$p installed" <<<"$installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "attention book: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  run=()
elif command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
  run=(sudo)  # may ask for your password
else
  echo "attention book: cannot install packages without root. Run this, then run make again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

# apt-get prints hundreds of lines a learner has no use for: they go to a log, which is shown
# only when something fails.
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp "${TMPDIR:-/tmp}/attention-book-apt.XXXXXX.log")
echo "attention book: this takes a minute or two (apt-get's output: $log)"
install() { "${run[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; }
if ! install; then
  # A fresh machine has no package lists yet.
  echo "attention book: updating the package lists first"
  "${run[@]}" apt-get update -q >>"$log" 2>&1 || true
  install || {
    tail -n 20 "$log" >&2
    echo "attention book: apt-get failed (above, the end of $log). Run this, then run make again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  }
fi
echo "attention book: installed ${missing[*]}"
rm -f "$log"

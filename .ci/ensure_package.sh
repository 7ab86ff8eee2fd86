#!/usr/bin/env bash
# Usage: ensure_package.sh PACKAGE COMMAND... -- makes sure every COMMAND is on PATH: installs the Debian
# PACKAGE when apt-get is usable as root, otherwise stops with one line naming the package.
set -euo pipefail
package=$1
shift
missing=0
for command in "$@"; do
  command -v "$command" >/dev/null 2>&1 || missing=1
done
if [ "$missing" = "0" ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "$* not found: installing Debian package '$package' with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "$package" >/dev/null
  exit 0
fi
echo "$* not found: install the '$package' package (e.g. 'sudo apt-get install $package') and run again" >&2
exit 1

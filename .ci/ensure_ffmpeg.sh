#!/usr/bin/env bash
# Makes sure ffmpeg and ffprobe are on PATH: installs Debian's package when apt-get is usable as root,
# otherwise stops with one line naming the package.
set -euo pipefail
if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "ffmpeg not found: installing Debian package 'ffmpeg' with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq ffmpeg >/dev/null
  exit 0
fi
echo "ffmpeg not found: install the 'ffmpeg' package (e.g. 'sudo apt-get install ffmpeg') and run again" >&2
exit 1

#!/usr/bin/env bash
# Makes sure ffmpeg and ffprobe are on PATH (Debian package ffmpeg).
exec bash "$(dirname "$0")/ensure_package.sh" ffmpeg ffmpeg ffprobe

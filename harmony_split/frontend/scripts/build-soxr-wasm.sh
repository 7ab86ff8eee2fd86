#!/usr/bin/env bash
# Builds libsoxr (the resampler the server uses through python-soxr) to WebAssembly for the browser's separation:
# src/logic/device/soxr/soxr.mjs, one ES module with the .wasm inlined (SINGLE_FILE), exporting soxr_create/soxr_process/
# soxr_delete and malloc/free. The source is libsoxr as python-soxr's sdist on PyPI bundles it, at the version
# this project's Python pins, so the browser and the server run the same resampler (harmony_split/README.md,
# "Separate on this device").
#
# Needs Debian's emscripten (apt-get install emscripten), cmake and pip. Run from harmony_split/frontend:
#   scripts/build-soxr-wasm.sh
# The output is committed; run this again only to change the build.
set -euo pipefail

SOXR_VERSION="${SOXR_VERSION:-1.1.0}" # the PyPI soxr release whose libsoxr is built (see requirements)
here="$(cd "$(dirname "$0")/.." && pwd)"
out="$here/src/logic/device/soxr"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for tool in emcc emcmake cmake; do
  command -v "$tool" >/dev/null || { echo "build-soxr-wasm: $tool not found: apt-get install emscripten cmake" >&2; exit 1; }
done
# Debian's emscripten runs its JS tools with the node on PATH; their modules (acorn) are Debian's node packages.
export NODE_PATH="${NODE_PATH:+$NODE_PATH:}/usr/share/nodejs"
python3 -m pip download --quiet --no-deps --no-binary :all: "soxr==$SOXR_VERSION" -d "$work"
tar xzf "$work/soxr-$SOXR_VERSION.tar.gz" -C "$work"
src="$work/soxr-$SOXR_VERSION/libsoxr"

# Single-precision constant-rate engine only (what quality "HQ" on float32 selects), no SIMD, no OpenMP: WASM
# has neither SSE nor the pthreads OpenMP would want here. The variable-rate engine is off (its table is made by a
# host program at build time, which cross-compiling cannot run).
emcmake cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTS=OFF -DBUILD_EXAMPLES=OFF \
  -DWITH_OPENMP=OFF -DWITH_LSR_BINDINGS=OFF -DBUILD_SHARED_LIBS=OFF -DWITH_VR32=OFF -DWITH_CR64=OFF \
  -DWITH_CR32S=OFF -DWITH_CR64S=OFF -DWITH_DEV_TRACE=OFF -DCMAKE_C_FLAGS="-O3" >/dev/null
cmake --build "$work/build" -j2 >/dev/null

mkdir -p "$out"
emcc -O3 "$work/build/src/libsoxr.a" -o "$out/soxr.mjs" \
  -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=createSoxr -sSINGLE_FILE=1 -sENVIRONMENT=web,worker \
  -sALLOW_MEMORY_GROWTH=1 -sFILESYSTEM=0 \
  -sEXPORTED_FUNCTIONS=_soxr_create,_soxr_process,_soxr_delete,_malloc,_free \
  -sEXPORTED_RUNTIME_METHODS=HEAPF32,HEAPU32,UTF8ToString
cp "$src/LICENCE" "$src/COPYING.LGPL" "$out/"
echo "built $out/soxr.mjs from libsoxr of soxr $SOXR_VERSION ($(wc -c <"$out/soxr.mjs") bytes)"

// Types of soxr.mjs, libsoxr built to WebAssembly by scripts/build-soxr-wasm.sh: the C API (soxr.h) on the module's
// heap. Pointers and size_t are 32-bit byte offsets into the heap; a soxr_error_t is 0 or a pointer to a C string.

export interface SoxrModule {
  /** soxr_create(input_rate, output_rate, num_channels, error*, io_spec*, quality_spec*, runtime_spec*); a null
   * spec pointer (0) takes the default: float32 interleaved, quality HQ, one thread. */
  _soxr_create(inRate: number, outRate: number, channels: number, error: number, io: number, quality: number,
    runtime: number): number;
  /** soxr_process(soxr, in, ilen, idone*, out, olen, odone*): lengths in samples per channel; `in` 0 flushes. */
  _soxr_process(soxr: number, input: number, ilen: number, idone: number, output: number, olen: number,
    odone: number): number;
  _soxr_delete(soxr: number): void;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  HEAPF32: Float32Array;
  HEAPU32: Uint32Array;
  UTF8ToString(pointer: number): string;
}

declare function createSoxr(): Promise<SoxrModule>;
export default createSoxr;

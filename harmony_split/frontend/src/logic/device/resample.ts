// Sample-rate conversion with libsoxr, quality HQ, single precision: the resampler the server uses (python-soxr's
// ResampleStream in Models/separation/input_rate.py), built to WebAssembly from the same libsoxr source
// (soxr/soxr.mjs, scripts/build-soxr-wasm.sh). Its output agrees with python-soxr's to about 130 dB (only float
// rounding differs: the server's build uses SSE and another FFT), so the browser's stems match the server's.
import createSoxr, { type SoxrModule } from "./soxr/soxr.mjs";

const BLOCK = 65536; // input samples per soxr_process call (the heap buffers' size)

let module: Promise<SoxrModule> | null = null;

function soxr(): Promise<SoxrModule> {
  module ??= createSoxr();
  return module;
}

/** A streaming mono resampler from `from` to `to` Hz (soxr HQ): push blocks of any size, then flush. */
export class Resampler {
  private readonly lib: SoxrModule;
  private handle: number;
  private readonly input: number; // heap pointers: BLOCK input samples, `capacity` output samples, two size_t
  private readonly output: number;
  private readonly counts: number;
  private readonly capacity: number;

  private constructor(lib: SoxrModule, from: number, to: number) {
    this.lib = lib;
    this.capacity = Math.ceil((BLOCK * to) / from) + 1024;
    this.input = lib._malloc(4 * BLOCK);
    this.output = lib._malloc(4 * this.capacity);
    this.counts = lib._malloc(8);
    this.handle = lib._soxr_create(from, to, 1, this.counts, 0, 0, 0);
    const error = lib.HEAPU32[this.counts >> 2];
    if (error !== 0 || this.handle === 0) {
      this.destroy();
      throw new Error(`the audio could not be resampled from ${from} Hz to ${to} Hz (${lib.UTF8ToString(error)})`);
    }
  }

  static async create(from: number, to: number): Promise<Resampler> {
    return new Resampler(await soxr(), from, to);
  }

  /** Feeds `signal` (all of it); `emit` gets each piece of output as it comes (a view, valid during the call). */
  push(signal: Float32Array, emit: (piece: Float32Array) => void): void {
    for (let first = 0; first < signal.length; ) {
      const count = Math.min(BLOCK, signal.length - first);
      this.lib.HEAPF32.set(signal.subarray(first, first + count), this.input >> 2);
      let fed = 0;
      while (fed < count) {
        this.step(this.input + 4 * fed, count - fed, emit);
        fed += this.lib.HEAPU32[this.counts >> 2];
      }
      first += count;
    }
  }

  /** Ends the input: `emit` gets the output still held in the filter. */
  flush(emit: (piece: Float32Array) => void): void {
    while (this.step(0, 0, emit) > 0) {
      // soxr gives the rest in pieces of at most `capacity` samples
    }
  }

  /** One soxr_process call; returns the output samples it made. */
  private step(input: number, length: number, emit: (piece: Float32Array) => void): number {
    const { lib, counts } = this;
    const error = lib._soxr_process(this.handle, input, length, counts, this.output, this.capacity, counts + 4);
    if (error !== 0) {
      throw new Error(`the audio could not be resampled (${lib.UTF8ToString(error)})`);
    }
    const made = lib.HEAPU32[(counts >> 2) + 1];
    if (made > 0) {
      emit(lib.HEAPF32.subarray(this.output >> 2, (this.output >> 2) + made));
    }
    return made;
  }

  /** Frees the resampler and its buffers (it cannot be used again). */
  destroy(): void {
    if (this.handle !== 0) {
      this.lib._soxr_delete(this.handle);
      this.handle = 0;
    }
    for (const pointer of [this.input, this.output, this.counts]) {
      this.lib._free(pointer);
    }
  }
}

/**
 * `signal` (mono, `from` Hz) at `to` Hz, exactly `length` samples long (zeros past the resampler's output, as the
 * server pads): the same samples as python-soxr's one-shot and streaming resampling.
 */
export async function resample(
  signal: Float32Array,
  from: number,
  to: number,
  length: number,
): Promise<Float32Array<ArrayBuffer>> {
  const out = new Float32Array(length);
  if (from === to) {
    out.set(signal.subarray(0, length));
    return out;
  }
  const resampler = await Resampler.create(from, to);
  try {
    let written = 0;
    const take = (piece: Float32Array) => {
      if (written < length) {
        out.set(piece.subarray(0, length - written), written);
      }
      written += piece.length;
    };
    resampler.push(signal, take);
    resampler.flush(take);
    return out;
  } finally {
    resampler.destroy();
  }
}

/** The length soxr gives a one-shot resampling of `samples` samples from `from` to `to` Hz. */
export function resampledLength(samples: number, from: number, to: number): number {
  return Math.round((samples * to) / from);
}

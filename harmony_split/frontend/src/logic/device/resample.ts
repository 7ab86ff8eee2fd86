// Sample-rate conversion with libsamplerate (its WASM build, @alexanderolsen/libsamplerate-js), best-quality sinc.
// The server resamples with soxr (HQ); the two agree to about 47 dB (down to 8192 Hz) and 53 dB (back up) on a demo
// song (harmony_split/README.md).
import { ConverterType, create } from "@alexanderolsen/libsamplerate-js";

/** `signal` (mono, `from` Hz) at `to` Hz, exactly `length` samples long (cut, or zero-padded at the end). */
export async function resample(
  signal: Float32Array,
  from: number,
  to: number,
  length: number,
): Promise<Float32Array<ArrayBuffer>> {
  if (from === to) {
    return fit(signal, length);
  }
  const converter = await create(1, from, to, { converterType: ConverterType.SRC_SINC_BEST_QUALITY });
  try {
    return fit(converter.simple(signal), length);
  } finally {
    converter.destroy();
  }
}

/** The length soxr gives a one-shot resampling of `samples` samples from `from` to `to` Hz. */
export function resampledLength(samples: number, from: number, to: number): number {
  return Math.round((samples * to) / from);
}

/** A copy of `signal` in a new array of `length` samples (the converter's output may live in its WASM memory). */
function fit(signal: Float32Array, length: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(length);
  out.set(signal.subarray(0, length));
  return out;
}

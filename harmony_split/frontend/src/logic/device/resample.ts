// Sample-rate conversion with libsamplerate (its WASM build, @alexanderolsen/libsamplerate-js), best-quality sinc.
// The server resamples with soxr (HQ); the two agree to about 47 dB (down to 8192 Hz) and 53 dB (back up) on a demo
// song (harmony_split/README.md).
import { ConverterType, create } from "@alexanderolsen/libsamplerate-js";

const BLOCK = 65536; // input samples per call (the library's own splitting of long input fails at 8192 Hz)

/**
 * `signal` (mono, `from` Hz) at `to` Hz, exactly `length` samples long. Fed to the converter in blocks (its state
 * carries over), then silence until `length` samples are out: the same samples as one call on the whole signal.
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
  const converter = await create(1, from, to, { converterType: ConverterType.SRC_SINC_BEST_QUALITY });
  try {
    let written = 0;
    const take = (piece: Float32Array) => {
      out.set(piece.subarray(0, Math.max(0, length - written)), written);
      written += piece.length;
    };
    for (let first = 0; first < signal.length && written < length; first += BLOCK) {
      take(converter.full(signal.slice(first, first + BLOCK)));
    }
    const silence = new Float32Array(BLOCK);
    while (written < length) {
      take(converter.full(silence));
    }
    return out;
  } finally {
    converter.destroy();
  }
}

/** The length soxr gives a one-shot resampling of `samples` samples from `from` to `to` Hz. */
export function resampledLength(samples: number, from: number, to: number): number {
  return Math.round((samples * to) / from);
}

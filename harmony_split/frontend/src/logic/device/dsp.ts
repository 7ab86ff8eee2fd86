// The signal processing of the default separation mode, as Models/separation/model_rate.py does it: the STFT
// (periodic Hann window, frame t centred on sample t * hop, zero outside the track), soft masks from the model's
// log1p magnitude estimates (masks.py soft_masks), and the inverse STFT by overlap-add normalised by the summed
// squared window (model_rate.py overlap_add). Signals are model-rate mono Float32Arrays; spectra are
// [frame][bin] interleaved re/im Float64Arrays of num_fft / 2 + 1 bins.
import FFT from "fft.js";

export const MASK_EPS = 1e-10; // masks.py MASK_EPS
export const MAX_LOG_MAGNITUDE = 40; // model_rate.py MAX_LOG_MAGNITUDE

/** Periodic Hann window of `size` samples (tf.signal.hann_window), rounded to float32 as the STFT uses it. */
export function hannWindow(size: number): Float32Array {
  const window = new Float32Array(size);
  for (let n = 0; n < size; n++) {
    window[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / size);
  }
  return window;
}

export class Stft {
  readonly size: number;
  readonly hop: number;
  readonly bins: number;
  readonly window: Float32Array;
  private readonly fft: FFT;
  private readonly frame: Float64Array;
  private readonly spectrum: Float64Array;
  private readonly full: Float64Array;

  constructor(size: number, hop: number) {
    this.size = size;
    this.hop = hop;
    this.bins = size / 2 + 1;
    this.window = hannWindow(size);
    this.fft = new FFT(size);
    this.frame = new Float64Array(size);
    this.spectrum = new Float64Array(2 * size);
    this.full = new Float64Array(2 * size);
  }

  /**
   * The spectra of frames `[f0, f1)` of `signal` (zero spectra outside `[0, numFrames)`), as
   * `[(f1 - f0) * bins * 2]` re/im pairs, frame-major.
   */
  analyse(signal: Float32Array, f0: number, f1: number, numFrames: number): Float64Array {
    const { size, hop, bins } = this;
    const out = new Float64Array((f1 - f0) * bins * 2);
    const half = size / 2;
    for (let t = Math.max(f0, 0); t < Math.min(f1, numFrames); t++) {
      const first = t * hop - half;
      for (let n = 0; n < size; n++) {
        const i = first + n;
        this.frame[n] = i >= 0 && i < signal.length ? signal[i] * this.window[n] : 0;
      }
      this.fft.realTransform(this.spectrum, this.frame);
      out.set(this.spectrum.subarray(0, 2 * bins), (t - f0) * bins * 2);
    }
    return out;
  }

  /**
   * Overlap-adds the windowed inverse FFTs of `spectra` (frames `first ..`, as analyse returns) into the samples
   * `[start, stop)` of `out` (model-rate samples of the track), divided by the summed squared window of the track's
   * frames `[0, numFrames)` where that exceeds 1e-10.
   */
  synthesise(spectra: Float64Array, first: number, numFrames: number, start: number, stop: number, out: Float32Array): void {
    const { size, hop, bins } = this;
    const half = size / 2;
    const count = spectra.length / (2 * bins);
    const sum = new Float64Array(stop - start);
    for (let k = 0; k < count; k++) {
      const t = first + k;
      const origin = t * hop - half;
      if (origin + size <= start || origin >= stop) {
        continue;
      }
      const full = this.full;
      for (let b = 0; b < bins; b++) {
        full[2 * b] = spectra[(k * bins + b) * 2];
        full[2 * b + 1] = b === 0 || b === bins - 1 ? 0 : spectra[(k * bins + b) * 2 + 1]; // irfft drops these
      }
      for (let b = bins; b < size; b++) {
        full[2 * b] = full[2 * (size - b)];
        full[2 * b + 1] = -full[2 * (size - b) + 1];
      }
      this.fft.inverseTransform(this.spectrum, full);
      for (let n = Math.max(0, start - origin); n < Math.min(size, stop - origin); n++) {
        sum[origin + n - start] += this.spectrum[2 * n] * this.window[n];
      }
    }
    for (let s = start; s < stop; s++) {
      const env = this.envelope(s, numFrames);
      out[s] = env > 1e-10 ? sum[s - start] / env : sum[s - start];
    }
  }

  /** The summed squared window at track sample `s` over the frames `[0, numFrames)`. */
  private envelope(s: number, numFrames: number): number {
    const half = this.size / 2;
    let env = 0;
    const lo = Math.max(0, Math.floor((s - half) / this.hop));
    for (let t = lo; t < numFrames && t * this.hop - half <= s; t++) {
      const n = s - (t * this.hop - half);
      if (n >= 0 && n < this.size) {
        env += this.window[n] * this.window[n];
      }
    }
    return env;
  }
}

/** The vocal soft mask `v^2 / (v^2 + a^2 + eps)` of log1p estimates `voice` and `acc` (capped, as the server). */
export function voiceMask(voice: number, acc: number): number {
  const v = Math.max(Math.expm1(Math.min(voice, MAX_LOG_MAGNITUDE)), 0);
  const a = Math.max(Math.expm1(Math.min(acc, MAX_LOG_MAGNITUDE)), 0);
  return (v * v) / (v * v + a * a + MASK_EPS);
}

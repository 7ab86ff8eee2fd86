import { resample, resampledLength, Resampler } from "./resample";

const sine = (hz: number, rate: number, samples: number) =>
  Float32Array.from({ length: samples }, (_, i) => Math.sin((2 * Math.PI * hz * i) / rate));

/** The RMS amplitude (x sqrt 2: a sine's peak) of `signal` without its first and last `edge` samples. */
function level(signal: Float32Array, edge: number): number {
  let sum = 0;
  for (let i = edge; i < signal.length - edge; i++) {
    sum += signal[i] * signal[i];
  }
  return Math.sqrt((2 * sum) / (signal.length - 2 * edge));
}

describe("resampling with libsoxr (HQ), as the server", () => {
  it("keeps the passband and has soxr HQ's transition band below the model's Nyquist frequency", async () => {
    const length = resampledLength(44100, 44100, 8192);
    expect(length).toBe(8192);
    const pass = await resample(sine(1000, 44100, 44100), 44100, 8192, length);
    expect(level(pass, 500)).toBeCloseTo(1, 3);
    // soxr HQ passes 66 % of a 3900-Hz sine on the way to 8192 Hz (libsamplerate's best sinc 94 %): the band where
    // two resamplers would disagree (harmony_split/README.md)
    const edge = await resample(sine(3900, 44100, 44100), 44100, 8192, length);
    expect(level(edge, 500)).toBeGreaterThan(0.6);
    expect(level(edge, 500)).toBeLessThan(0.72);
    const above = await resample(sine(4500, 44100, 44100), 44100, 8192, length);
    expect(level(above, 500)).toBeLessThan(1e-4); // aliasing suppressed
  });

  it("gives the same samples streamed in pieces as in one call, and the exact length asked", async () => {
    const signal = Float32Array.from({ length: 150_000 }, (_, i) => Math.sin(i * 0.013) * Math.cos(i * 0.0007));
    const whole = await resample(signal, 44100, 8192, resampledLength(signal.length, 44100, 8192));
    const pieces: number[] = [];
    const stream = await Resampler.create(44100, 8192);
    for (let first = 0; first < signal.length; first += 7919) {
      stream.push(signal.subarray(first, first + 7919), (piece) => pieces.push(...piece));
    }
    stream.flush((piece) => pieces.push(...piece));
    stream.destroy();
    expect(pieces.length).toBeGreaterThanOrEqual(whole.length);
    expect(Float32Array.from(pieces.slice(0, whole.length))).toEqual(whole);
    const up = await resample(whole, 8192, 44100, signal.length);
    expect(up.length).toBe(signal.length);
    const middle = (a: Float32Array) => a.subarray(1000, a.length - 1000);
    const error = middle(up).reduce((worst, x, i) => Math.max(worst, Math.abs(x - middle(signal)[i])), 0);
    expect(error).toBeLessThan(1e-3); // a signal far below 4096 Hz comes back
  });
});

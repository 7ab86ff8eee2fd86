// Separation of model-rate audio in chunks, as Models/separation/model_rate.py's ModelRateStream does it in the
// default mode (soft masks, vocals only: the accompaniment is the residual at the input's rate). Each chunk's
// spectrogram is made, run through the model in windows, masked and inverted, then dropped, so memory stays
// bounded by a chunk (30 s at the model's rate) whatever the song's length.
import { planTrack, WINDOWS_PER_CALL, type DeviceSpec } from "./geometry";
import { Stft, voiceMask } from "./dsp";
import type { StageClock } from "./protocol";

/** The model's answer to `[n, inputFreq, inputTime, 1]` log1p magnitudes: accompaniment and voice log1p
 * estimates, each `[n, outFreq, outTime, 1]` row-major (`dims`). */
export interface ModelOutput {
  acc: Float32Array;
  voice: Float32Array;
  dims: readonly number[];
}

export type RunModel = (input: Float32Array, dims: readonly [number, number, number, number]) => Promise<ModelOutput>;

/**
 * The vocals of each channel of `channels` (model-rate samples, all of one length), at the model's rate.
 * `onProgress` gets the fraction of chunks done, 0..1.
 */
export async function separateVocals(
  channels: readonly Float32Array[],
  spec: DeviceSpec,
  run: RunModel,
  onProgress: (fraction: number) => void,
  clock: StageClock,
): Promise<Float32Array[]> {
  const samples = channels[0]?.length ?? 0;
  const plan = planTrack(spec, samples);
  const { shapes, step, inputTime, numFrames } = plan;
  const { numBins: bins, inputFreq, freqPadLo, contextFrames: ctx } = shapes;
  const stft = new Stft(spec.num_fft, spec.num_hop);
  const vocals = channels.map(() => new Float32Array(samples));
  for (const [index, chunk] of plan.chunks.entries()) {
    const frames = chunk.g1 - chunk.g0;
    const width = frames + 2 * ctx; // feature frames, g0 - ctx .. g1 + ctx
    const spectra = clock.time("stft", () =>
      channels.map((signal) => stft.analyse(signal, chunk.g0 - ctx, chunk.g1 + ctx, numFrames)),
    );
    const windows = Math.ceil(frames / step);
    const jobs: [number, number][] = []; // (channel, window), ordered by channel then time
    channels.forEach((_, c) => {
      for (let j = 0; j < windows; j++) {
        jobs.push([c, j]);
      }
    });
    const voiceSpectra = channels.map(() => new Float64Array(frames * bins * 2));
    for (let begin = 0; begin < jobs.length; begin += WINDOWS_PER_CALL) {
      const batch = jobs.slice(begin, begin + WINDOWS_PER_CALL);
      const input = new Float32Array(batch.length * inputFreq * inputTime);
      clock.time("features", () => batch.forEach(([c, j], w) => {
        const spectrum = spectra[c];
        for (let tau = 0; tau < inputTime; tau++) {
          const f = j * step + tau; // feature frame
          if (f >= width) {
            break; // past the chunk's features: zeros, as the server's windows read
          }
          for (let b = 0; b < bins; b++) {
            const re = spectrum[(f * bins + b) * 2];
            const im = spectrum[(f * bins + b) * 2 + 1];
            input[(w * inputFreq + freqPadLo + b) * inputTime + tau] = Math.log1p(Math.hypot(re, im));
          }
        }
      }));
      const out = await clock.timeAsync("model", () => run(input, [batch.length, inputFreq, inputTime, 1]));
      const [, outFreq, outTime] = out.dims;
      clock.time("masks", () => batch.forEach(([c, j], w) => {
        const spectrum = spectra[c];
        const target = voiceSpectra[c];
        for (let tau = 0; tau < step && j * step + tau < frames; tau++) {
          const k = j * step + tau; // predicted frame g0 + k
          for (let b = 0; b < bins; b++) {
            const o = (w * outFreq + b) * outTime + tau;
            const m = voiceMask(out.voice[o], out.acc[o]);
            const from = ((k + ctx) * bins + b) * 2;
            target[(k * bins + b) * 2] = m * spectrum[from];
            target[(k * bins + b) * 2 + 1] = m * spectrum[from + 1];
          }
        }
      }));
    }
    clock.time("istft", () =>
      voiceSpectra.forEach((s, c) => stft.synthesise(s, chunk.g0, numFrames, chunk.start, chunk.stop, vocals[c])),
    );
    onProgress((index + 1) / plan.chunks.length);
  }
  return vocals;
}

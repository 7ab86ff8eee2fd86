import { getPadding, planTrack } from "./geometry";
import { Stft, voiceMask } from "./dsp";

describe("the browser's port of the separation geometry and DSP", () => {
  it("sizes the U-Net as Models/nets/padding.py get_padding does", () => {
    expect(getPadding([256, 64], 4)).toEqual([
      [350, 158],
      [258, 66],
    ]);
  });

  it("plans 30-s chunks that cover every sample once, with margins on the window grid", () => {
    const spec = { expected_sr: 8192, num_fft: 512, num_hop: 256, num_frames: 64, num_layers: 4 };
    const plan = planTrack(spec, 8192 * 70);
    expect(plan.chunks.map((c) => [c.start, c.stop])).toEqual([
      [0, 960 * 256],
      [960 * 256, 1920 * 256],
      [1920 * 256, 8192 * 70],
    ]);
    expect(plan.chunks[1].g0).toBe(960 - 16);
    expect(plan.step).toBe(496);
  });

  it("gives the signal back from its unmodified STFT, and mask 1/2 for equal estimates", () => {
    const stft = new Stft(512, 256);
    const signal = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i * 0.05) + 0.3 * Math.cos(i * 0.7));
    const frames = 1 + Math.floor(signal.length / 256);
    const spectra = stft.analyse(signal, 0, frames, frames);
    const out = new Float32Array(signal.length);
    stft.synthesise(spectra, 0, frames, 0, signal.length, out);
    const worst = Math.max(...signal.map((x, i) => Math.abs(x - out[i])));
    expect(worst).toBeLessThan(1e-5);
    expect(voiceMask(2, 2)).toBeCloseTo(0.5, 6);
    expect(voiceMask(3, 0)).toBeCloseTo(1, 6);
  });
});

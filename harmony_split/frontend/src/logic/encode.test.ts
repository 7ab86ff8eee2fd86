import { mp3Refusal } from "./encode";
import { toInt16 } from "./wav";

describe("mix encoding", () => {
  it("quantises to 16 bits as decoding reads them back (x * 32768), clipping", () => {
    const out = toInt16(new Float32Array([0, 0.5, -0.5, 1, -1, 2, 1 / 32768, -3 / 32768]));
    expect([...out]).toEqual([0, 16384, -16384, 32767, -32768, 32767, 1, -3]);
  });

  it("refuses an MP3 at a rate MP3 cannot hold, saying what to do instead", () => {
    expect(mp3Refusal(44100)).toBeNull();
    expect(mp3Refusal(48000)).toBeNull();
    expect(mp3Refusal(96000)).toBe("an MP3 cannot hold 96 kHz audio (it holds 8 to 48 kHz): export this song as WAV");
  });
});

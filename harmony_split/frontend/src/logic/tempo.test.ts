import { isIdentity, pitchLabel, pitchRatio, songTime, stretchedFrames, tempoLabel, tempoRate } from "./tempo";

describe("tempo and pitch mapping", () => {
  it("maps percent to a playback rate, clamped to 50-150 %", () => {
    expect(tempoRate(75)).toBe(0.75);
    expect(tempoRate(100)).toBe(1);
    expect(tempoRate(150)).toBe(1.5);
    expect(tempoRate(20)).toBe(0.5);
    expect(tempoRate(400)).toBe(1.5);
  });

  it("maps semitones to an equal-tempered frequency ratio, clamped to -6..+6", () => {
    expect(pitchRatio(0)).toBe(1);
    expect(pitchRatio(3)).toBeCloseTo(1.189207, 6);
    expect(pitchRatio(-6)).toBeCloseTo(Math.SQRT1_2, 6);
    expect(pitchRatio(12)).toBeCloseTo(Math.SQRT2, 6);
  });

  it("needs no time stretch only at 100 % and 0 semitones", () => {
    expect(isIdentity(100, 0)).toBe(true);
    expect(isIdentity(99, 0)).toBe(false);
    expect(isIdentity(100, 1)).toBe(false);
  });

  it("speaks the values", () => {
    expect(tempoLabel(75)).toBe("75 %");
    expect(pitchLabel(3)).toBe("+3 semitones");
    expect(pitchLabel(-1)).toBe("-1 semitone");
    expect(pitchLabel(0)).toBe("0 semitones");
  });

  it("runs the clock in song seconds at tempo x real time", () => {
    expect(songTime(10, 4, 0.5)).toBe(12);
    expect(songTime(10, 4, 1.5)).toBe(16);
    expect(songTime(10, -0.05, 0.5)).toBe(10); // not started yet
  });

  it("lengthens a render by 1/tempo, a whole quotient exactly", () => {
    expect(stretchedFrames(44100, 75)).toBe(58800);
    expect(stretchedFrames(3, 50)).toBe(6);
    expect(stretchedFrames(57, 57)).toBe(100); // 57 / 0.57 is 100.00000000000001 in floating point
    expect(stretchedFrames(58, 57)).toBe(102); // 101.75... up
    expect(stretchedFrames(100, 300)).toBe(67); // clamped to 150 %
    for (let percent = 50; percent <= 150; percent += 1) {
      for (const frames of [percent, 7 * percent, 44100 * percent]) {
        expect(stretchedFrames(frames, percent)).toBe((frames * 100) / percent); // every whole quotient
      }
    }
  });
});

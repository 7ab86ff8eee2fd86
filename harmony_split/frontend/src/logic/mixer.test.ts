import { effectiveGains, formatTime, silenceReasons, volumeLabel } from "./mixer";

const stem = (volume: number, muted = false, soloed = false) => ({ volume, muted, soloed });

describe("effectiveGains", () => {
  it("plays every unmuted stem at its volume", () => {
    expect(effectiveGains([stem(1), stem(0.5), stem(0.25, true)])).toEqual([1, 0.5, 0]);
  });

  it("plays only the soloed stems when any is soloed", () => {
    expect(effectiveGains([stem(1), stem(0.5, false, true), stem(0.8)])).toEqual([0, 0.5, 0]);
  });

  it("allows several solos", () => {
    expect(effectiveGains([stem(1, false, true), stem(0.5), stem(0.8, false, true)])).toEqual([1, 0, 0.8]);
  });

  it("lets solo win over mute", () => {
    expect(effectiveGains([stem(0.7, true, true), stem(1)])).toEqual([0.7, 0]);
  });

  it("clamps volumes to 0-1", () => {
    expect(effectiveGains([stem(1.5), stem(-1)])).toEqual([1, 0]);
  });
});

describe("formatTime", () => {
  it("shows m:ss and h:mm:ss, rounded down", () => {
    expect(formatTime(0)).toBe("0:00");
    expect(formatTime(9.99)).toBe("0:09");
    expect(formatTime(75)).toBe("1:15");
    expect(formatTime(3723)).toBe("1:02:03");
    expect(formatTime(-3)).toBe("0:00");
  });
});

describe("volumeLabel", () => {
  it("labels volumes in dB as a mixing desk does", () => {
    expect([1, 0.5, 0.1, 0.2, 0].map(volumeLabel)).toEqual(["0.0 dB", "-6.0 dB", "-20.0 dB", "-14.0 dB", "-inf dB"]);
  });
});

describe("silenceReasons", () => {
  const names = ["mixture", "vocals", "accompaniment"];
  const c = (volume: number, muted: boolean, soloed: boolean) => ({ volume, muted, soloed });
  it("says why a stem is silent, and nothing for one that sounds", () => {
    expect(silenceReasons([c(1, true, false), c(1, false, false), c(0, false, false)], names)).toEqual([
      "Muted: the vocals and accompaniment play the song. Solo the mixture to compare.",
      null,
      "Volume at zero",
    ]);
    expect(silenceReasons([c(1, true, false), c(1, true, false), c(1, false, true)], names)).toEqual([
      "Silent while another stem is soloed",
      "Silent while another stem is soloed",
      null,
    ]);
    expect(silenceReasons([c(1, false, false), c(1, true, false), c(1, false, false)], names)[1]).toBe("Muted");
  });
});

import { parsePractice, type PracticeSettings } from "./practice";

const SETTINGS: PracticeSettings = {
  controls: [
    { volume: 1, muted: true, soloed: false },
    { volume: 0.5, muted: false, soloed: true },
    { volume: 0, muted: false, soloed: false },
  ],
  loop: { start: 5, end: 10.5 },
  looping: true,
  tempo: 85,
  semitones: -2,
};

const text = (changes: Record<string, unknown>) => JSON.stringify({ ...SETTINGS, ...changes });

describe("parsePractice", () => {
  it("reads back what was stored", () => {
    expect(parsePractice(JSON.stringify(SETTINGS), 3, 60)).toEqual(SETTINGS);
    expect(parsePractice(text({ loop: null, looping: false }), 3, 60)).toEqual({ ...SETTINGS, loop: null, looping: false });
  });

  it("has nothing for a track never opened, or for text that is not the settings", () => {
    expect(parsePractice(null, 3, 60)).toBeNull();
    expect(parsePractice("{not json", 3, 60)).toBeNull();
    expect(parsePractice("[]", 3, 60)).toBeNull();
    expect(parsePractice(JSON.stringify(SETTINGS), 2, 60)).toBeNull(); // another mixer layout
  });

  it("ignores settings out of range as a whole", () => {
    expect(parsePractice(text({ tempo: 300 }), 3, 60)).toBeNull();
    expect(parsePractice(text({ tempo: "85" }), 3, 60)).toBeNull();
    expect(parsePractice(text({ semitones: 1.5 }), 3, 60)).toBeNull();
    expect(parsePractice(text({ semitones: -7 }), 3, 60)).toBeNull();
    expect(parsePractice(text({ looping: "yes" }), 3, 60)).toBeNull();
    const loud = [{ volume: 2, muted: false, soloed: false }, ...SETTINGS.controls.slice(1)];
    expect(parsePractice(text({ controls: loud }), 3, 60)).toBeNull();
    expect(parsePractice(text({ loop: { start: 5, end: 90 } }), 3, 60)).toBeNull(); // past the song's end
    expect(parsePractice(text({ loop: { start: "a", end: 9 } }), 3, 60)).toBeNull();
  });

  it("keeps a stored loop a valid loop", () => {
    expect(parsePractice(text({ loop: { start: 10, end: 5 } }), 3, 60)?.loop).toEqual({ start: 5, end: 10 });
    expect(parsePractice(text({ loop: { start: 4, end: 4 } }), 3, 60)?.loop).toEqual({ start: 4, end: 4.25 });
  });
});

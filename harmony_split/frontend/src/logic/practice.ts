// What the mixer remembers of a track across visits (logic/stored.ts): each stem's volume, mute and solo, the A-B
// loop and whether it is on, tempo and pitch. Stored text is checked like any input (another version of the app,
// or a hand-edited value, may have written it): anything out of range or malformed is ignored as a whole.
import { makeLoop, type Loop } from "./loop";
import { readStored, writeStored } from "./stored";
import type { StemControls } from "./mixer";
import { PITCH_MAX, PITCH_MIN, TEMPO_MAX, TEMPO_MIN } from "./tempo";

const PREFIX = "harmony_split.practice."; // + the source's practice key, e.g. "track:<id>"

export interface PracticeSettings {
  controls: StemControls[]; // one per stem, in the mixer's order
  loop: Loop | null; // seconds
  looping: boolean;
  tempo: number; // percent, TEMPO_MIN..TEMPO_MAX
  semitones: number; // integer, PITCH_MIN..PITCH_MAX
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function inRange(value: unknown, low: number, high: number): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= low && value <= high;
}

function parseControls(value: unknown): StemControls | null {
  if (!isRecord(value) || !inRange(value.volume, 0, 1) || typeof value.muted !== "boolean" || typeof value.soloed !== "boolean") {
    return null;
  }
  return { volume: value.volume, muted: value.muted, soloed: value.soloed };
}

/**
 * The settings stored as `text` for a mixer of `stems` stems and a song of `duration` seconds (the loop is kept
 * within it), or null when there are none or they are not valid.
 */
export function parsePractice(text: string | null, stems: number, duration: number): PracticeSettings | null {
  let data: unknown;
  try {
    data = JSON.parse(text ?? "null");
  } catch {
    return null;
  }
  if (!isRecord(data) || !Array.isArray(data.controls) || data.controls.length !== stems) {
    return null;
  }
  const controls = data.controls.map(parseControls);
  const { tempo, semitones, looping } = data;
  if (controls.some((c) => c === null) || !inRange(tempo, TEMPO_MIN, TEMPO_MAX) || typeof looping !== "boolean") {
    return null;
  }
  if (!inRange(semitones, PITCH_MIN, PITCH_MAX) || !Number.isInteger(semitones)) {
    return null;
  }
  let loop: Loop | null = null;
  if (data.loop !== null) {
    if (!isRecord(data.loop) || !inRange(data.loop.start, 0, duration) || !inRange(data.loop.end, 0, duration)) {
      return null;
    }
    loop = makeLoop(data.loop.start, data.loop.end, duration);
  }
  return { controls: controls.filter((c) => c !== null), loop, looping: looping && loop !== null, tempo, semitones };
}

/** The settings remembered for `key` (see parsePractice), or null. */
export function loadPractice(key: string, stems: number, duration: number): PracticeSettings | null {
  return parsePractice(readStored(PREFIX + key), stems, duration);
}

/** Remember `settings` for `key`. */
export function savePractice(key: string, settings: PracticeSettings): void {
  writeStored(PREFIX + key, JSON.stringify(settings));
}

// Tempo and pitch of the studio: the Tempo slider is a percentage of the song's speed (50-150 %, pitch kept)
// and the Pitch slider a number of semitones (-6..+6, tempo kept). Playback runs the stems' sources at
// `tempoRate` and one SoundTouch node on the mix bus puts the pitch back (and shifts it by the semitones),
// so the transport's clock advances in song seconds at tempo x real time.

export const TEMPO_MIN = 50; // percent
export const TEMPO_MAX = 150; // percent
export const PITCH_MIN = -6; // semitones
export const PITCH_MAX = 6; // semitones

function clampTempo(percent: number): number {
  return Math.min(TEMPO_MAX, Math.max(TEMPO_MIN, percent));
}

/** A tempo in percent (clamped to 50-150) as a playback rate: 75 -> 0.75. */
export function tempoRate(percent: number): number {
  return clampTempo(percent) / 100;
}

/** A pitch shift in semitones (clamped to -6..+6) as a frequency ratio: +12 would be 2, -12 0.5. */
export function pitchRatio(semitones: number): number {
  return 2 ** (Math.min(PITCH_MAX, Math.max(PITCH_MIN, semitones)) / 12);
}

/** True when the tempo/pitch leave the song as it is (no time stretch or pitch shift is needed). */
export function isIdentity(percent: number, semitones: number): boolean {
  return tempoRate(percent) === 1 && Math.round(semitones) === 0;
}

/** The Tempo slider's spoken value: "75 %". */
export function tempoLabel(percent: number): string {
  return `${Math.round(percent)} %`;
}

/** The Pitch slider's spoken value: "+3 semitones", "-1 semitone", "0 semitones". */
export function pitchLabel(semitones: number): string {
  const n = Math.round(semitones);
  const sign = n > 0 ? "+" : n < 0 ? "-" : "";
  return `${sign}${Math.abs(n)} semitone${Math.abs(n) === 1 ? "" : "s"}`;
}

/**
 * Song seconds after `elapsed` seconds of real (audio context) time at playback rate `rate`, from `from`
 * song seconds: the clock of the transport. Real time before the start (elapsed < 0) counts as none.
 */
export function songTime(from: number, elapsed: number, rate: number): number {
  return from + Math.max(0, elapsed) * rate;
}

/**
 * The length in sample frames of a song of `frames` frames played at `percent` tempo (clamped as tempoRate):
 * ceil(frames / rate), computed as ceil(frames * 100 / percent) so that a whole quotient stays whole (57 frames at
 * 57 % are 100, where 57 / 0.57 is 100.00000000000001 in floating point).
 */
export function stretchedFrames(frames: number, percent: number): number {
  return Math.ceil((frames * 100) / clampTempo(percent));
}

// The A-B loop: a stretch of the song, in seconds, that playback repeats. Pure rules, no audio: setting A or B
// (from the playhead or a dragged region) clamps to the song, swaps A and B when B comes first, and keeps
// the loop at least MIN_LOOP_S long; positions past B wrap back into the loop.

export const MIN_LOOP_S = 0.25; // the shortest loop, seconds (shorter ones would buzz, not loop)

export interface Loop {
  start: number; // A, seconds from the song's start
  end: number; // B, seconds, > start
}

/**
 * A loop between `a` and `b` seconds in a song of `duration` seconds: both clamped to [0, duration], swapped
 * when b < a, and widened to MIN_LOOP_S (moving B, or A at the song's end). Null when the song is shorter
 * than MIN_LOOP_S.
 */
export function makeLoop(a: number, b: number, duration: number): Loop | null {
  if (!(duration >= MIN_LOOP_S)) {
    return null;
  }
  const clamp = (t: number) => Math.min(duration, Math.max(0, Number.isFinite(t) ? t : 0));
  let start = Math.min(clamp(a), clamp(b));
  let end = Math.max(clamp(a), clamp(b));
  if (end - start < MIN_LOOP_S) {
    end = Math.min(duration, start + MIN_LOOP_S);
    start = end - MIN_LOOP_S;
  }
  return { start, end };
}

/** The loop with A moved to `at` seconds (B stays; an unset loop runs from `at` to the song's end). */
export function withStart(loop: Loop | null, at: number, duration: number): Loop | null {
  return makeLoop(at, loop ? loop.end : duration, duration);
}

/** The loop with B moved to `at` seconds (A stays; an unset loop runs from the song's start to `at`). */
export function withEnd(loop: Loop | null, at: number, duration: number): Loop | null {
  return makeLoop(loop ? loop.start : 0, at, duration);
}

/** Where playback starts from `position` with the loop on: the position itself inside [A, B), else A. */
export function loopStartOffset(position: number, loop: Loop): number {
  return position >= loop.start && position < loop.end ? position : loop.start;
}

/**
 * The song position of a playhead that started at `from` (inside [A, B)) and has since moved `travelled`
 * song seconds, looping between A and B: what the transport shows while a loop plays.
 */
export function loopedPosition(from: number, travelled: number, loop: Loop): number {
  const length = loop.end - loop.start;
  const linear = from + Math.max(0, travelled);
  if (linear < loop.end || length <= 0) {
    return linear;
  }
  return loop.start + ((linear - loop.start) % length);
}

// When to ask the server again for the state of the user's tracks.
// Polling starts fast, backs off while nothing changes, snaps back when something does, and stops when no
// track is queued or running.

export const MIN_DELAY_MS = 1000;
export const MAX_DELAY_MS = 15000;
export const BACKOFF_FACTOR = 1.5;

const PENDING = new Set(["queued", "running"]);

/** True when a track in this status can still change without the user doing anything. */
export function isPending(status: string): boolean {
  return PENDING.has(status);
}

/**
 * The delay in ms before the next poll, or null to stop polling.
 * @param previousMs the delay used before this poll (null on the first poll)
 * @param changed whether this poll's answer differs from the one before
 * @param statuses the statuses of all tracks in this answer
 */
export function nextPollDelay(previousMs: number | null, changed: boolean, statuses: readonly string[]): number | null {
  if (!statuses.some(isPending)) {
    return null;
  }
  if (previousMs === null || changed) {
    return MIN_DELAY_MS;
  }
  return Math.min(MAX_DELAY_MS, Math.round(previousMs * BACKOFF_FACTOR));
}

// The words a track row shows for its status. The first word is always one of
// Queued, Running, Done, Failed, Cancelled (the names the browser tests look for).
import type { Track } from "../api";

export function statusText(track: Pick<Track, "status" | "progress" | "queue_position" | "error">): string {
  switch (track.status) {
    case "queued":
      return track.queue_position ? `Queued (position ${track.queue_position})` : "Queued";
    case "running":
      return `Running ${Math.round(track.progress * 100)}%`;
    case "done":
      return "Done";
    case "failed":
      return track.error ? `Failed: ${track.error}` : "Failed";
    case "cancelled":
      return "Cancelled";
  }
}

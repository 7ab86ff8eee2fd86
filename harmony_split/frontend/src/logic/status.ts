// The words a track row shows for its status. The first word is always one of
// Queued, Running, Done, Failed, Cancelled (the names the browser tests look for).
import type { Track } from "../api";

export type StatusFields = Pick<Track, "status" | "progress" | "stage" | "queue_position" | "error">;

export function statusText(track: StatusFields): string {
  switch (track.status) {
    case "queued":
      return track.queue_position ? `Queued (position ${track.queue_position})` : "Queued";
    case "running":
      if (track.stage === "loading") {
        return "Running: loading the model";
      }
      if (track.stage === "analysing") {
        return "Running: finding tempo and key";
      }
      return `Running ${Math.round(track.progress * 100)}%`;
    case "done":
      return "Done";
    case "failed":
      return track.error ? `Failed: ${track.error}` : "Failed";
    case "cancelled":
      return "Cancelled";
  }
}

// A track's status: the words of logic/status.ts, and a progress bar while it runs.
import type { Track } from "../api";
import { statusText } from "../logic/status";

export function TrackStatus({ track }: { track: Pick<Track, "status" | "progress" | "queue_position" | "error"> }) {
  return (
    <span className={`status status-${track.status}`}>
      <span className="status-text">{statusText(track)}</span>
      {track.status === "running" && (
        <progress max={1} value={track.progress} aria-label="Separation progress" />
      )}
    </span>
  );
}

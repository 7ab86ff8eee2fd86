// A track's status: the words of logic/status.ts, and a progress bar while it runs (indeterminate while the
// worker loads the model, when there is nothing to measure yet).
import { statusText, type StatusFields } from "../logic/status";

export function TrackStatus({ track }: { track: StatusFields }) {
  return (
    <span className={`status status-${track.status}`}>
      <span className="status-text">{statusText(track)}</span>
      {track.status === "running" && (
        <progress
          max={1}
          value={track.stage === "loading" ? undefined : track.progress}
          aria-label="Separation progress"
        />
      )}
    </span>
  );
}

// One track: its status while it is separated, then the mixer, the downloads, Cancel and Delete.
import { useCallback, useMemo } from "react";
import { getTrack, zipUrl, type Track } from "../api";
import { serverStems } from "../logic/stems";
import { usePolling } from "../logic/usePolling";
import { formatTime } from "../logic/mixer";
import { DownloadIcon } from "./Icons";
import { Mixer } from "./Mixer";
import { MusicalFacts } from "./MusicalFacts";
import { TrackActions } from "./TrackActions";
import { TrackStatus } from "./TrackStatus";

const statuses = (t: Track) => [t.status];

export function TrackPage({
  id,
  navigate,
  onError,
}: {
  id: string;
  navigate: (path: string) => void;
  onError: (e: unknown) => void;
}) {
  const load = useCallback(() => getTrack(id), [id]);
  const { value: track, refresh } = usePolling(load, statuses, onError);
  const source = useMemo(() => (track ? serverStems(track) : null), [track]);
  if (!track) {
    return <p className="muted">Loading…</p>;
  }
  return (
    <div className="track-page">
      <div className="card track-head">
        <div className="track-title">
          <h1>{track.name}</h1>
          <p className="track-meta">
            <MusicalFacts bpm={track.bpm} songKey={track.key} />
            <TrackStatus track={track} />
            <span className="muted small">{formatTime(track.duration_s)}</span>
          </p>
        </div>
        <div className="track-links">
          {track.status === "done" && (
            <a className="button" href={zipUrl(track)} download>
              <DownloadIcon />
              Download both stems (zip)
            </a>
          )}
          <TrackActions track={track} onChanged={refresh} onDeleted={() => navigate("/")} onError={onError} />
        </div>
      </div>
      {track.status === "done" && source && <Mixer key={track.id} source={source} onError={onError} />}
    </div>
  );
}

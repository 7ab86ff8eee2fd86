// One track: its status while it is separated, then the mixer, the downloads, Cancel and Delete.
import { useCallback, useMemo } from "react";
import { getTrack, zipUrl, type Track } from "../api";
import { serverStems } from "../logic/stems";
import { usePolling } from "../logic/usePolling";
import { Mixer } from "./Mixer";
import { TrackActions } from "./TrackActions";
import { TrackStatus } from "./TrackStatus";
import { musicalFacts } from "../logic/library";

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
        <h1>{track.name}</h1>
        {musicalFacts(track.bpm, track.key) && <p className="musical-facts">{musicalFacts(track.bpm, track.key)}</p>}
        <p>
          <TrackStatus track={track} />
        </p>
        <div className="track-links">
          {track.status === "done" && (
            <a href={zipUrl(track)} download>
              Download both stems (zip)
            </a>
          )}
          <TrackActions track={track} onChanged={refresh} onDeleted={() => navigate("/")} onError={onError} />
        </div>
      </div>
      {track.status === "done" && source && <Mixer source={source} onError={onError} />}
    </div>
  );
}

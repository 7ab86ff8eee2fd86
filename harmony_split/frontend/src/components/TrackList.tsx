// One page of the user's tracks. Each row is named by its file name and shows its length and status.
import type { Track } from "../api";
import { formatTime } from "../logic/mixer";
import { trackPath } from "../logic/route";
import { MusicalFacts } from "./MusicalFacts";
import { TrackActions } from "./TrackActions";
import { TrackStatus } from "./TrackStatus";

export function TrackList({
  tracks,
  searching,
  navigate,
  onChanged,
  onError,
}: {
  tracks: Track[] | undefined;
  searching: boolean;
  navigate: (path: string) => void;
  onChanged: () => void;
  onError: (e: unknown) => void;
}) {
  if (tracks === undefined) {
    return <p className="muted empty-state">Loading tracks…</p>;
  }
  if (tracks.length === 0) {
    return (
      <div className="card empty-state" role="status">
        {searching ? (
          <p className="empty-title">No track name matches this search.</p>
        ) : (
          <>
            <p className="empty-title">No tracks yet.</p>
            <p className="muted">
              Drop a song anywhere on this page, or press Upload audio: its vocals and accompaniment appear here.
            </p>
          </>
        )}
      </div>
    );
  }
  return (
    <table className="tracks card" aria-label="Tracks">
      <thead>
        <tr>
          <th scope="col">File</th>
          <th scope="col">Length</th>
          <th scope="col">Tempo and key</th>
          <th scope="col">Status</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {tracks.map((t) => (
          <tr key={t.id} aria-label={t.name}>
            <td className="track-name">
              <a
                href={trackPath(t.id)}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(trackPath(t.id));
                }}
              >
                {t.name}
              </a>
            </td>
            <td className="track-length">{formatTime(t.duration_s)}</td>
            <td className="facts-cell">
              <MusicalFacts bpm={t.bpm} songKey={t.key} />
            </td>
            <td className="track-status">
              <TrackStatus track={t} />
            </td>
            <td>
              <TrackActions track={t} onChanged={onChanged} onDeleted={onChanged} onError={onError} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

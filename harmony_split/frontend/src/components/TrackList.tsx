// One page of the user's tracks. Each row is named by its file name and shows its length and status.
import type { Track } from "../api";
import { musicalFacts } from "../logic/library";
import { formatTime } from "../logic/mixer";
import { trackPath } from "../logic/route";
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
    return <p className="muted">Loading tracks…</p>;
  }
  if (tracks.length === 0) {
    return <p className="muted">{searching ? "No track name matches this search." : "No tracks yet."}</p>;
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
            <td className="musical-facts">{musicalFacts(t.bpm, t.key)}</td>
            <td>
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

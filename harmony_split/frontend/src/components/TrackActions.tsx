// Cancel (while queued or running) and Delete (after a confirmation) for one track. Each button's accessible name
// adds the track's ("Delete song.mp3"): a screen reader's list of the library's buttons tells the rows apart.
import { cancelTrack, deleteTrack, type Track } from "../api";
import { isPending } from "../logic/polling";

export function TrackActions({
  track,
  onChanged,
  onDeleted,
  onError,
}: {
  track: Track;
  onChanged: () => void;
  onDeleted: () => void;
  onError: (e: unknown) => void;
}) {
  const remove = () => {
    if (window.confirm(`Delete ${track.name} and its stems?`)) {
      deleteTrack(track.id).then(onDeleted).catch(onError);
    }
  };
  return (
    <span className="actions">
      {isPending(track.status) && (
        <button type="button" aria-label={`Cancel ${track.name}`}
                onClick={() => cancelTrack(track.id).then(onChanged).catch(onError)}>
          Cancel
        </button>
      )}
      <button type="button" className="danger" aria-label={`Delete ${track.name}`} onClick={remove}>
        Delete
      </button>
    </span>
  );
}

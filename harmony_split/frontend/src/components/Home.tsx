// The start page: the upload area and the user's tracks, newest first, kept fresh by polling.
import { useCallback } from "react";
import { listTracks, type Track } from "../api";
import { usePolling } from "../logic/usePolling";
import { TrackList } from "./TrackList";
import { Upload } from "./Upload";

const statuses = (tracks: Track[]) => tracks.map((t) => t.status);

export function Home({ navigate, onError }: { navigate: (path: string) => void; onError: (e: unknown) => void }) {
  const { value: tracks, refresh } = usePolling(listTracks, statuses, onError);
  const onUploaded = useCallback(() => refresh(), [refresh]);
  return (
    <div className="home">
      <Upload onUploaded={onUploaded} onError={onError}>
        <TrackList tracks={tracks} navigate={navigate} onChanged={refresh} onError={onError} />
      </Upload>
    </div>
  );
}

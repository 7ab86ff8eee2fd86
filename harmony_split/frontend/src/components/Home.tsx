// The start page: the upload area and the user's library (searched, sorted, a page at a time), kept fresh by
// polling while a track on the page is queued or running.
import { useCallback, useEffect, useState } from "react";
import type { DeviceModel } from "../logic/device/useDeviceSeparation";
import { ApiError, listTracks, type TrackPage } from "../api";
import { FIRST_QUERY, type LibraryQuery } from "../logic/library";
import { usePolling } from "../logic/usePolling";
import { LibraryControls, Pager } from "./Library";
import { DeviceSeparation } from "./DeviceSeparation";
import { TrackList } from "./TrackList";
import { Upload } from "./Upload";

const SEARCH_DELAY_MS = 250; // typing pauses this long before the search is sent

/** A loaded page with the query it answers (the pager shows the page on screen, not the one being fetched). */
interface Shown {
  query: LibraryQuery;
  page: TrackPage;
}

const statuses = (shown: Shown) => shown.page.results.map((t) => t.status);

export function Home({ navigate, onError }: { navigate: (path: string) => void; onError: (e: unknown) => void }) {
  const [query, setQuery] = useState<LibraryQuery>(FIRST_QUERY);
  const [typed, setTyped] = useState("");
  const [onDevice, setOnDevice] = useState<{ file: File; model: DeviceModel } | null>(null);
  const closeDevice = useCallback(() => setOnDevice(null), []);
  useEffect(() => {
    const timer = window.setTimeout(() => {
      setQuery((q) => (q.search === typed ? q : { ...q, search: typed, page: 1 }));
    }, SEARCH_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [typed]);
  const load = useCallback(async (): Promise<Shown> => {
    try {
      return { query, page: await listTracks(query) };
    } catch (e) {
      if (e instanceof ApiError && e.status === 404 && query.page > 1) {
        // the page is gone (its last tracks were deleted): show the first one
        const first = { ...query, page: 1 };
        setQuery((q) => (q.page === query.page ? first : q));
        return { query: first, page: await listTracks(first) };
      }
      throw e;
    }
  }, [query]);
  const { value: shown, refresh } = usePolling(load, statuses, onError);
  const page = shown?.page;
  const onUploaded = useCallback(() => {
    setTyped("");
    setQuery(FIRST_QUERY); // the new track is the newest: show it
    refresh();
  }, [refresh]);
  return (
    <div className="home">
      <Upload onUploaded={onUploaded} onDevice={(file, model) => setOnDevice({ file, model })} onError={onError}>
        {onDevice && (
          <DeviceSeparation key={`${onDevice.file.name}-${onDevice.file.lastModified}-${onDevice.file.size}`}
            file={onDevice.file} model={onDevice.model} onError={onError} onClose={closeDevice} />
        )}
        <LibraryControls
          search={typed}
          ordering={query.ordering}
          onSearch={setTyped}
          onOrdering={(ordering) => setQuery((q) => ({ ...q, ordering, page: 1 }))}
        />
        <TrackList
          tracks={page?.results}
          searching={query.search.trim() !== ""}
          navigate={navigate}
          onChanged={refresh}
          onError={onError}
        />
        {shown !== undefined && (
          <Pager
            page={shown.query.page}
            count={shown.page.count}
            onPage={(n) => setQuery((q) => ({ ...q, page: n }))}
          />
        )}
      </Upload>
    </div>
  );
}

// The library's view of the user's tracks: which page, which search, which order; and how to say it.

export const PAGE_SIZE = 20; // the server's page size (REST_FRAMEWORK.PAGE_SIZE)

/** The orders offered, as the API's `ordering` values with the words a musician reads. */
export const SORTS = [
  { value: "-created", label: "Newest first" },
  { value: "created", label: "Oldest first" },
  { value: "name", label: "Name A–Z" },
  { value: "-name", label: "Name Z–A" },
  { value: "-duration_s", label: "Longest first" },
  { value: "duration_s", label: "Shortest first" },
] as const;

export type Sort = (typeof SORTS)[number]["value"];

export interface LibraryQuery {
  search: string;
  ordering: Sort;
  page: number; // from 1
}

export const FIRST_QUERY: LibraryQuery = { search: "", ordering: "-created", page: 1 };

/** The query string of `GET /api/tracks/` for this view (`?ordering=...`, plus `search` and `page` when set). */
export function queryString(query: LibraryQuery): string {
  const params = new URLSearchParams({ ordering: query.ordering });
  const search = query.search.trim();
  if (search) {
    params.set("search", search);
  }
  if (query.page > 1) {
    params.set("page", String(query.page));
  }
  return `?${params.toString()}`;
}

/** How many pages `count` tracks fill (at least 1, so that an empty library reads "Page 1 of 1"). */
export function pageCount(count: number): number {
  return Math.max(1, Math.ceil(count / PAGE_SIZE));
}

/** "Page 2 of 3 · 45 tracks" (or "1 track"). */
export function pageLabel(page: number, count: number): string {
  return `Page ${page} of ${pageCount(count)} · ${count} ${count === 1 ? "track" : "tracks"}`;
}

/** The song's tempo and key as a musician reads them (["120 BPM", "A minor"]); the unknown ones left out. */
export function musicalFactParts(bpm: number | null, key: string): string[] {
  const parts = [];
  if (bpm !== null && bpm > 0) {
    parts.push(`${Math.round(bpm)} BPM`);
  }
  if (key) {
    parts.push(key);
  }
  return parts;
}

/** The song's tempo and key in one line ("120 BPM · A minor"), or "" while unknown. */
export function musicalFacts(bpm: number | null, key: string): string {
  return musicalFactParts(bpm, key).join(" · ");
}

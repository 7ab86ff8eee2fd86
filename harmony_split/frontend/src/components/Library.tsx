// The library's controls: search by name, sort, and page through.
import { pageCount, pageLabel, SORTS, type Sort } from "../logic/library";
import { Choice } from "./Choice";

export function LibraryControls({
  search,
  ordering,
  onSearch,
  onOrdering,
}: {
  search: string;
  ordering: Sort;
  onSearch: (text: string) => void;
  onOrdering: (ordering: Sort) => void;
}) {
  return (
    <div className="library-head">
      <h2>Your tracks</h2>
      <div className="library-controls">
        <input
          type="search"
          aria-label="Search tracks"
          placeholder="Search tracks"
          value={search}
          onChange={(e) => onSearch(e.target.value)}
        />
        <Choice label="Sort" name="Sort tracks" options={SORTS} value={ordering} onChange={onOrdering} />
      </div>
    </div>
  );
}

export function Pager({ page, count, onPage }: { page: number; count: number; onPage: (page: number) => void }) {
  const last = pageCount(count);
  if (count === 0) {
    return null;
  }
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous page
      </button>
      <span role="status">{pageLabel(page, count)}</span>
      <button type="button" disabled={page >= last} onClick={() => onPage(page + 1)}>
        Next page
      </button>
    </nav>
  );
}

// The app's two pages, read from the URL path: "/" (upload and track list) and "/tracks/<id>" (the mixer).
// Django answers every non-API path with index.html, so these URLs can be bookmarked and reloaded.

export type Route = { page: "home" } | { page: "track"; id: string };

export function parseRoute(pathname: string): Route {
  const match = pathname.match(/^\/tracks\/([^/]+)\/?$/);
  return match ? { page: "track", id: decodeURIComponent(match[1]) } : { page: "home" };
}

export function trackPath(id: string): string {
  return `/tracks/${encodeURIComponent(id)}`;
}

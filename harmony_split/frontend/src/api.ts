// The service's JSON API under /api/ (harmony_split/README.md): types, session sign-in with Django's CSRF
// protection, and uploads with progress. Errors arrive as {"error": "<one line>"}; ApiError carries that line.
// The types come from the server's OpenAPI schema (api-schema.ts, generated: `make api-types` at the repository
// root; tests/web/test_api_types.py fails when it is stale).
import type { components, operations } from "./api-schema";
import { type LibraryQuery, queryString } from "./logic/library";

type Schemas = components["schemas"];

export type Track = Schemas["Track"];
export type TrackStatus = Schemas["StatusEnum"];
export type TrackPage = Schemas["PaginatedTrackList"];
/** The stems' file format of a track (wav, flac or mp3). */
export type StemFormat = Track["format"];
/** The separation setting asked for: standard, or high (the Wiener filter). */
export type Quality = Track["quality"];
export type SeparatorModel = Schemas["Model"];
export type Session = Schemas["Session"];
export type Health = Schemas["Health"];
/** A stem of `GET /api/tracks/<id>/stems/<stem>`: vocals, accompaniment, or mixture (the uploaded original). */
export type StemName = operations["tracks_stems_retrieve"]["parameters"]["path"]["stem"];

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** The one-line message of an error body (the service's {"error"}, or DRF's {"detail"}), or a fallback. */
export function errorMessage(status: number, body: unknown): string {
  if (typeof body === "object" && body !== null) {
    const record = body as Record<string, unknown>;
    for (const key of ["error", "detail"]) {
      if (typeof record[key] === "string") {
        return record[key];
      }
    }
  }
  return `the server answered ${status}`;
}

async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-CSRFToken"] = csrfToken();
  }
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, errorMessage(response.status, parsed));
  }
  return parsed as T;
}

/** Who is signed in; this also gives the browser Django's csrftoken cookie. */
export function getSession(): Promise<Session> {
  return request<Session>("GET", "/api/auth/me/");
}

export function signIn(username: string, password: string): Promise<Session> {
  return request<Session>("POST", "/api/auth/login/", { username, password });
}

export function signOut(): Promise<void> {
  return request<void>("POST", "/api/auth/logout/");
}

export function listModels(): Promise<SeparatorModel[]> {
  return request<SeparatorModel[]>("GET", "/api/models/");
}

/** One page of the caller's tracks, searched and sorted as `query` says (logic/library.ts). */
export function listTracks(query: LibraryQuery): Promise<TrackPage> {
  return request<TrackPage>("GET", `/api/tracks/${queryString(query)}`);
}

export function getTrack(id: string): Promise<Track> {
  return request<Track>("GET", `/api/tracks/${encodeURIComponent(id)}/`);
}

/** Cancels a pending job and deletes the track's files and row. */
export function deleteTrack(id: string): Promise<void> {
  return request<void>("DELETE", `/api/tracks/${encodeURIComponent(id)}/`);
}

/** Cancels a pending job and keeps the track (status becomes cancelled). */
export function cancelTrack(id: string): Promise<Track> {
  return request<Track>("POST", `/api/tracks/${encodeURIComponent(id)}/cancel/`);
}

export function getHealth(): Promise<Health> {
  return request<Health>("GET", "/api/health/");
}

/** The URL of one stem's audio: the track's `stems` lists vocals and accompaniment once done; the mixture (the
 * uploaded original) is not listed, at the same kind of path. */
export function stemUrl(track: Track, stem: StemName): string {
  const path = `/api/tracks/${encodeURIComponent(track.id)}/stems/${stem}`;
  return stem === "mixture" ? path : (track.stems?.[stem] ?? path);
}

export function zipUrl(track: Track): string {
  return `/api/tracks/${encodeURIComponent(track.id)}/download`;
}

/**
 * Uploads one file as multipart form data (field `file`, and `model` when given) with XMLHttpRequest,
 * which reports upload progress (fetch does not).
 * @param onProgress called with the fraction sent, 0-1
 */
export function uploadTrack(
  file: File,
  model: string | null,
  format: StemFormat,
  quality: Quality,
  onProgress: (fraction: number) => void,
): Promise<Track> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/tracks/");
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) {
        onProgress(event.loaded / event.total);
      }
    };
    xhr.onload = () => {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(xhr.responseText);
      } catch {
        parsed = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(parsed as Track);
      } else {
        reject(new ApiError(xhr.status, `${file.name}: ${errorMessage(xhr.status, parsed)}`));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, `${file.name}: the upload failed (network error)`));
    const form = new FormData();
    form.append("file", file);
    form.append("format", format);
    form.append("quality", quality);
    if (model) {
      form.append("model", model);
    }
    xhr.send(form);
  });
}

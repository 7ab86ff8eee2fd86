// The service's JSON API under /api/ (harmony_split/README.md): types, session sign-in with Django's CSRF
// protection, and uploads with progress. Errors arrive as {"error": "<one line>"}; ApiError carries that line.

export type TrackStatus = "queued" | "running" | "done" | "failed" | "cancelled";

export interface Track {
  id: string;
  name: string;
  duration_s: number | null;
  sample_rate: number | null;
  channels: number | null;
  status: TrackStatus;
  progress: number | null;
  queue_position: number | null;
  error: string | null;
  model: string | null;
  created: string;
  finished: string | null;
  stems: Partial<Record<"vocals" | "accompaniment" | "mixture", string>> | null;
}

export interface SeparatorModel {
  id: string;
  name: string;
  default: boolean;
}

export interface Session {
  username: string | null;
  authenticated: boolean;
}

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

export async function listModels(): Promise<SeparatorModel[]> {
  const answer = await request<SeparatorModel[] | { results: SeparatorModel[] }>("GET", "/api/models/");
  return Array.isArray(answer) ? answer : answer.results;
}

/** The caller's tracks, newest first (the first page of the service's paginated list). */
export async function listTracks(): Promise<Track[]> {
  const answer = await request<Track[] | { results: Track[] }>("GET", "/api/tracks/");
  return Array.isArray(answer) ? answer : answer.results;
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

export interface Health {
  status: string;
  max_upload_mb?: number;
}

export function getHealth(): Promise<Health> {
  return request<Health>("GET", "/api/health/");
}

/** The URL of one stem's audio; the mixture is the uploaded original. */
export function stemUrl(track: Track, stem: "vocals" | "accompaniment" | "mixture"): string {
  return track.stems?.[stem] ?? `/api/tracks/${encodeURIComponent(track.id)}/stems/${stem}`;
}

export function zipUrl(track: Track): string {
  return `/api/tracks/${encodeURIComponent(track.id)}/download`;
}

/**
 * Uploads one file as multipart form data (field `file`, and `model` when given) with XMLHttpRequest,
 * which reports upload progress (fetch does not).
 * @param onProgress called with the fraction sent, 0-1
 */
export function uploadTrack(file: File, model: string | null, onProgress: (fraction: number) => void): Promise<Track> {
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
    if (model) {
      form.append("model", model);
    }
    xhr.send(form);
  });
}

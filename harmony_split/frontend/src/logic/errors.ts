// Errors in a musician's words: a refusal that carries a decoder's technical reason is said plainly, with the
// technical line kept as a detail the user can open.

export interface PlainError {
  text: string; // what the user reads
  detail: string | null; // the server's full line, behind a "Details" toggle (null: the text says it all)
}

const UNREADABLE = /^(?<file>.*?): (?:file: )?not readable audio \((?<reason>.*)\)$/s;

/** The plain form of one error line (an unreadable upload says so plainly; anything else stays as it is). */
export function plainError(message: string): PlainError {
  const match = UNREADABLE.exec(message);
  if (match?.groups) {
    return {
      text: `${match.groups.file}: this file has no audio we can read. Is it a song file (mp3, wav, flac, m4a…)?`,
      detail: message,
    };
  }
  return { text: message, detail: null };
}

/** An error of something the musician did to `name` (a song), in one line: "<name>: <what> (<the reason>)". */
export function explained(name: string, what: string, e: unknown): Error {
  const reason = typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e); // DOMException too
  return new Error(`${name}: ${what} (${reason})`);
}

// A song's tempo and key as badges ("118 BPM", "A major"). The text reads as one line, "118 BPM · A major", to
// screen readers and to text search: the separating dot is there, hidden from sight only.
import { Fragment } from "react";
import { musicalFactParts } from "../logic/library";

export function MusicalFacts({ bpm, songKey }: { bpm: number | null; songKey: string }) {
  const parts = musicalFactParts(bpm, songKey);
  if (parts.length === 0) {
    return null;
  }
  return (
    <span className="facts">
      {parts.map((part, i) => (
        <Fragment key={part}>
          {i > 0 && <span className="visually-hidden"> · </span>}
          <span className="badge">{part}</span>
        </Fragment>
      ))}
    </span>
  );
}

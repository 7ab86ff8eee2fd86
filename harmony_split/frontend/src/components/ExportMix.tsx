// "Export mix": the whole song, or the A-B loop's span, as the musician hears it (volumes, mute, solo, tempo,
// pitch), rendered in the browser (logic/render.ts) at the input's sample rate and channels, saved as WAV or MP3.
import { useState } from "react";
import type { Sound } from "../logic/graph";
import { outputChannels } from "../logic/graph";
import { encodeMix, type MixFormat } from "../logic/encode";
import { explained } from "../logic/errors";
import type { Loop } from "../logic/loop";
import { renderMix } from "../logic/render";
import { downloadName } from "../logic/stems";
import { Choice, type Option } from "./Choice";

type MixRange = "song" | "loop";

const FORMATS: readonly Option<MixFormat>[] = [
  { value: "wav", label: "WAV (16-bit)" },
  { value: "mp3", label: "MP3 (192 kbit/s)" },
];

const RANGES: readonly Option<MixRange>[] = [
  { value: "song", label: "Whole song" },
  { value: "loop", label: "A-B loop" },
];

/** "<name without extension>_mix.<format>", as the server names the stems' downloads; a loop's span adds its A and
 * B in seconds to 0.01 s: "<name>_mix_5.25-10.00s.<format>". */
export function mixFileName(trackName: string, format: MixFormat, range: Loop | null = null): string {
  const span = range ? `_${range.start.toFixed(2)}-${range.end.toFixed(2)}s` : "";
  return downloadName(trackName, `mix${span}.${format}`);
}

function save(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // after the browser has taken the file
}

export function ExportMix({
  buffers,
  sound,
  loop,
  channels,
  trackName,
  onError,
}: {
  buffers: readonly AudioBuffer[] | null;
  sound: Sound;
  loop: Loop | null; // the A-B loop, once set (whether or not it is playing)
  channels: number; // the input's channels
  trackName: string;
  onError: (e: unknown) => void;
}) {
  const [format, setFormat] = useState<MixFormat>("wav");
  const [wanted, setRange] = useState<MixRange>("song");
  const [busy, setBusy] = useState(false);
  const range = wanted === "loop" ? loop : null; // no loop set: the whole song
  const run = () => {
    if (!buffers) {
      return;
    }
    setBusy(true);
    renderMix(buffers, sound, outputChannels(channels), range)
      .then((audio) => encodeMix(audio, format))
      .then((file) => save(file, mixFileName(trackName, format, range)))
      .catch((e: unknown) => onError(explained(trackName, "the mix could not be exported", e)))
      .finally(() => setBusy(false));
  };
  return (
    <div className="export-mix">
      <Choice label="Range" name="Export range" options={RANGES} value={loop ? wanted : "song"} onChange={setRange}
        disabled={!loop} />
      <Choice label="Format" name="Export format" options={FORMATS} value={format} onChange={setFormat} />
      <button type="button" onClick={run} disabled={!buffers || busy} aria-busy={busy}>
        Export mix
      </button>
      {busy && (
        <span className="muted small" role="status">
          Rendering the mix…
        </span>
      )}
    </div>
  );
}

// One stem of the mixer: a region named by the stem with its waveform, Mute, Solo, Volume and Download.
// With focus anywhere in the region, M toggles Mute and S toggles Solo.
import type { KeyboardEvent } from "react";
import type { StemControls } from "../logic/mixer";
import { Waveform } from "./Waveform";

export function StemStrip({
  stem,
  buffer,
  controls,
  position,
  downloadUrl,
  onChange,
  onSeek,
}: {
  stem: string;
  buffer: AudioBuffer | null;
  controls: StemControls;
  position: number;
  downloadUrl: string;
  onChange: (controls: StemControls) => void;
  onSeek: (seconds: number) => void;
}) {
  const onKeyDown = (event: KeyboardEvent<HTMLElement>) => {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    const key = event.key.toLowerCase();
    if (key === "m") {
      onChange({ ...controls, muted: !controls.muted });
    } else if (key === "s") {
      onChange({ ...controls, soloed: !controls.soloed });
    }
  };

  return (
    <section className="stem card" aria-label={stem} tabIndex={0} onKeyDown={onKeyDown}>
      <div className="stem-head">
        <h2>{stem}</h2>
        <div className="stem-controls">
          <button
            type="button"
            aria-pressed={controls.muted}
            onClick={() => onChange({ ...controls, muted: !controls.muted })}
          >
            Mute
          </button>
          <button
            type="button"
            aria-pressed={controls.soloed}
            onClick={() => onChange({ ...controls, soloed: !controls.soloed })}
          >
            Solo
          </button>
          <input
            type="range"
            aria-label="Volume"
            min={0}
            max={1}
            step={0.01}
            value={controls.volume}
            onChange={(e) => onChange({ ...controls, volume: Number(e.target.value) })}
          />
          <a href={downloadUrl} download>
            Download
          </a>
        </div>
      </div>
      {buffer ? (
        <Waveform buffer={buffer} position={position} onSeek={onSeek} label={stem} />
      ) : (
        <p className="muted small">Loading audio…</p>
      )}
    </section>
  );
}

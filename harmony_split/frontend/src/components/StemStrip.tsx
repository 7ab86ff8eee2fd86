// One stem of the mixer: a region named by the stem with Download, Mute, Solo, Volume and its waveform.
// With focus anywhere in the region, M toggles Mute and S toggles Solo.
import type { KeyboardEvent } from "react";
import type { Loop } from "../logic/loop";
import { type StemControls, volumeLabel } from "../logic/mixer";
import type { StemDownload } from "../logic/stems";
import { DownloadIcon } from "./Icons";
import { Waveform } from "./Waveform";

function Toggle({ label, pressed, onToggle }: { label: string; pressed: boolean; onToggle: () => void }) {
  return (
    <button type="button" aria-pressed={pressed} onClick={onToggle}>
      {label}
    </button>
  );
}

export function StemStrip({
  stem,
  buffer,
  controls,
  position,
  download,
  onChange,
  onSeek,
  silence,
  loop,
  onLoop,
}: {
  loop: Loop | null;
  onLoop: (a: number, b: number) => void;
  silence: string | null;
  stem: string;
  buffer: AudioBuffer | null;
  controls: StemControls;
  position: number;
  download: StemDownload;
  onChange: (controls: StemControls) => void;
  onSeek: (seconds: number) => void;
}) {
  const toggleMute = () => onChange({ ...controls, muted: !controls.muted });
  const toggleSolo = () => onChange({ ...controls, soloed: !controls.soloed });
  const onKeyDown = (event: KeyboardEvent<HTMLElement>) => {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    const key = event.key.toLowerCase();
    if (key === "m") {
      toggleMute();
    } else if (key === "s") {
      toggleSolo();
    }
  };

  return (
    <section className={`stem card stem-${stem}${silence ? " silent" : ""}`} aria-label={stem} tabIndex={0} onKeyDown={onKeyDown}>
      <div className="stem-head">
        <div className="stem-title">
          <h2>{stem}</h2>
          <a
            className="stem-download"
            href={typeof download.url === "string" ? download.url : "#"}
            download={download.filename ?? true}
            onClick={(event) => {
              if (typeof download.url === "function") {
                event.currentTarget.href = download.url(); // before the click's default action: the download
              }
            }}
          >
            <DownloadIcon />
            Download
          </a>
        </div>
        <div className="stem-controls">
          <Toggle label="Mute" pressed={controls.muted} onToggle={toggleMute} />
          <Toggle label="Solo" pressed={controls.soloed} onToggle={toggleSolo} />
          <input
            type="range"
            aria-label="Volume"
            min={0}
            max={1}
            step={0.01}
            value={controls.volume}
            aria-valuetext={volumeLabel(controls.volume)}
            onChange={(e) => onChange({ ...controls, volume: Number(e.target.value) })}
          />
          <output className="volume-db" aria-hidden="true">
            {volumeLabel(controls.volume)}
          </output>
        </div>
      </div>
      {silence && <p className="stem-hint small">{silence}</p>}
      {buffer ? (
        <Waveform buffer={buffer} position={position} onSeek={onSeek} label={stem} loop={loop} onLoop={onLoop} />
      ) : (
        <p className="muted small stem-loading">Loading audio…</p>
      )}
    </section>
  );
}

// The mixer's transport: the player bar (Play/Pause, the time, the A-B loop: Loop toggle, Set A / Set B at the
// playhead, the loop's span), sticky at the top of the screen, and the practice card (Tempo and Pitch sliders,
// then its children: the export). The keys are the Mixer's: space, arrows, [ and ].
import type { ReactNode } from "react";
import type { Loop } from "../logic/loop";
import { formatTime } from "../logic/mixer";
import { LoopIcon, PauseIcon, PlayIcon } from "./Icons";
import { PITCH_MAX, PITCH_MIN, pitchLabel, TEMPO_MAX, TEMPO_MIN, tempoLabel } from "../logic/tempo";

export interface TransportProps {
  ready: boolean; // the stems are decoded
  playing: boolean;
  position: number; // song seconds
  duration: number; // song seconds
  audioState: string; // the AudioContext's state, for tests and diagnostics
  loop: Loop | null; // A and B, once set
  looping: boolean;
  tempo: number; // percent
  semitones: number;
  onToggle: () => void;
  onLoopToggle: () => void;
  onSetA: () => void;
  onSetB: () => void;
  onTempo: (percent: number) => void;
  onPitch: (semitones: number) => void;
  children?: ReactNode; // more controls in the bar (the export)
}

function Slider({
  label,
  value,
  min,
  max,
  step,
  text,
  onChange,
}: {
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  text: string;
  onChange: (value: number) => void;
}) {
  return (
    <label className="studio-slider">
      <span>{label}</span>
      <input
        type="range"
        aria-label={label}
        min={min}
        max={max}
        step={step}
        value={value}
        aria-valuetext={text}
        onChange={(e) => onChange(Number(e.target.value))}
      />
      <output aria-hidden="true">{text}</output>
    </label>
  );
}

export function Transport(props: TransportProps) {
  const { loop, looping } = props;
  return (
    <>
      <div className="player-bar" data-audio-state={props.audioState}>
        <button type="button" className="primary play" onClick={props.onToggle} disabled={!props.ready}>
          {props.playing ? <PauseIcon /> : <PlayIcon />}
          {props.playing ? "Pause" : "Play"}
        </button>
        <span role="timer" aria-label="Time" className="time">
          {formatTime(props.position)}
          <span className="time-total"> / {formatTime(props.duration)}</span>
        </span>
        {!props.ready && <span className="loading-audio small">Loading audio…</span>}
        <div className="loop-group" role="group" aria-label="A-B loop">
          <button type="button" aria-pressed={looping} onClick={props.onLoopToggle} disabled={!props.ready}>
            <LoopIcon />
            Loop
          </button>
          <button type="button" onClick={props.onSetA} aria-keyshortcuts="[" disabled={!props.ready}>
            Set A
          </button>
          <button type="button" onClick={props.onSetB} aria-keyshortcuts="]" disabled={!props.ready}>
            Set B
          </button>
          <output className="loop-span small" aria-label="Loop span">
            {loop ? `A ${formatTime(loop.start)} – B ${formatTime(loop.end)}` : "No loop: drag on a waveform or press [ and ]"}
          </output>
        </div>
      </div>
      <div className="practice card">
        <Slider label="Tempo" value={props.tempo} min={TEMPO_MIN} max={TEMPO_MAX} step={1}
          text={tempoLabel(props.tempo)} onChange={props.onTempo} />
        <Slider label="Pitch" value={props.semitones} min={PITCH_MIN} max={PITCH_MAX} step={1}
          text={pitchLabel(props.semitones)} onChange={props.onPitch} />
        {props.children}
      </div>
    </>
  );
}

// The mixer of a finished track: the mixture, vocals and accompaniment, one transport for all of them
// (logic/engine.ts), and per-stem volume, mute and solo (logic/mixer.ts). Space toggles play;
// the left and right arrow keys seek by 5 s.
// The mixture starts muted, so that the two stems play as the song and the mixture can be soloed to compare.
import { useCallback, useEffect, useRef, useState } from "react";
import type { StemName } from "../api";
import { MixEngine } from "../logic/engine";
import { effectiveGains, formatTime, silenceReasons, type StemControls } from "../logic/mixer";
import type { StemSource } from "../logic/stems";
import { StemStrip } from "./StemStrip";

export const STEMS = ["mixture", "vocals", "accompaniment"] as const satisfies readonly StemName[];

const SEEK_STEP_S = 5; // what the arrow keys move the playback position by, seconds

const INITIAL: StemControls[] = STEMS.map((stem) => ({ volume: 1, muted: stem === "mixture", soloed: false }));

function isTyping(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && target.closest("button, input, select, textarea, a") !== null;
}

export function Mixer({ source, onError }: { source: StemSource; onError: (e: unknown) => void }) {
  const [buffers, setBuffers] = useState<AudioBuffer[] | null>(null);
  const [controls, setControls] = useState<StemControls[]>(INITIAL);
  const [playing, setPlaying] = useState(false);
  const [position, setPosition] = useState(0);
  const [audioState, setAudioState] = useState<string>("none");
  const engine = useRef<MixEngine | null>(null);

  useEffect(() => {
    let alive = true;
    source
      .load(STEMS)
      .then((decoded) => alive && setBuffers(decoded))
      .catch((e: unknown) => alive && onError(e));
    return () => {
      alive = false;
      engine.current?.close();
      engine.current = null;
    };
  }, [source, onError]);

  useEffect(() => {
    engine.current?.setGains(effectiveGains(controls));
  }, [controls]);

  useEffect(() => {
    if (!playing) {
      return;
    }
    let frame = 0;
    const tick = () => {
      setPosition(engine.current?.position() ?? 0);
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(frame);
  }, [playing]);

  const getEngine = useCallback((): MixEngine | null => {
    if (!engine.current && buffers) {
      const created = new MixEngine(buffers, () => {
        setPlaying(false);
        setPosition(created.duration);
      });
      created.context.onstatechange = () => setAudioState(created.context.state);
      engine.current = created;
      created.setGains(effectiveGains(controls));
    }
    return engine.current;
  }, [buffers, controls]);

  const toggle = useCallback(() => {
    const e = getEngine();
    if (!e) {
      return;
    }
    if (e.playing) {
      e.pause();
      setPlaying(false);
      setPosition(e.position());
    } else {
      e.play()
        .then(() => {
          setAudioState(e.context.state);
          setPlaying(true);
        })
        .catch(onError);
    }
  }, [getEngine, onError]);

  const seek = useCallback(
    (seconds: number) => {
      const e = getEngine();
      if (e) {
        e.seek(seconds)
          .then(() => setPosition(e.position()))
          .catch(onError);
      }
    },
    [getEngine, onError],
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (isTyping(event.target) || event.ctrlKey || event.metaKey || event.altKey) {
        return;
      }
      if (event.key === " ") {
        event.preventDefault();
        toggle();
      } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        event.preventDefault();
        seek((engine.current?.position() ?? 0) + (event.key === "ArrowLeft" ? -SEEK_STEP_S : SEEK_STEP_S));
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [toggle, seek]);

  const duration = buffers ? Math.max(...buffers.map((b) => b.duration)) : source.duration;
  return (
    <div className="mixer">
      <div className="transport card" data-audio-state={audioState}>
        <button type="button" className="primary play" onClick={toggle} disabled={!buffers}>
          {playing ? "Pause" : "Play"}
        </button>
        <span role="timer" aria-label="Time" className="time">
          {formatTime(position)} / {formatTime(duration)}
        </span>
        {!buffers && <span className="muted small">Loading audio…</span>}
      </div>
      {STEMS.map((stem, i) => (
        <StemStrip
          silence={silenceReasons(controls, STEMS)[i]}
          key={stem}
          stem={stem}
          buffer={buffers?.[i] ?? null}
          controls={controls[i]}
          position={position}
          download={source.download(stem)}
          onChange={(c) => setControls((old) => old.map((o, j) => (j === i ? c : o)))}
          onSeek={seek}
        />
      ))}
    </div>
  );
}

// The mixer of a finished track: the mixture, vocals and accompaniment, one transport for all of them
// (logic/engine.ts, components/Transport.tsx), per-stem volume, mute and solo (logic/mixer.ts), the A-B loop
// (logic/loop.ts), tempo and pitch (logic/tempo.ts) and the mix's export (components/ExportMix.tsx).
// Space toggles play; the left and right arrow keys seek by 5 s; [ and ] set the loop's A and B at the playhead.
// The mixture starts muted, so that the two stems play as the song and the mixture can be soloed to compare.
// A track's settings (stems, loop, tempo, pitch) are remembered across visits (logic/practice.ts).
import { useCallback, useEffect, useRef, useState } from "react";
import type { StemName } from "../api";
import { MixEngine } from "../logic/engine";
import { explained } from "../logic/errors";
import { makeLoop, withEnd, withStart, type Loop } from "../logic/loop";
import { effectiveGains, silenceReasons, type StemControls } from "../logic/mixer";
import { loadPractice, savePractice } from "../logic/practice";
import type { StemSource } from "../logic/stems";
import { ExportMix } from "./ExportMix";
import { StemStrip } from "./StemStrip";
import { Transport } from "./Transport";

export const STEMS = ["mixture", "vocals", "accompaniment"] as const satisfies readonly StemName[];

const SEEK_STEP_S = 5; // what the arrow keys move the playback position by, seconds

const INITIAL: StemControls[] = STEMS.map((stem) => ({ volume: 1, muted: stem === "mixture", soloed: false }));

function isTyping(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && target.closest("button, input, select, textarea, a") !== null;
}

export function Mixer({ source, onError }: { source: StemSource; onError: (e: unknown) => void }) {
  const [buffers, setBuffers] = useState<AudioBuffer[] | null>(null);
  const [remembered] = useState(() =>
    source.practiceKey ? loadPractice(source.practiceKey, STEMS.length, source.duration) : null,
  );
  const [controls, setControls] = useState<StemControls[]>(remembered?.controls ?? INITIAL);
  const [playing, setPlaying] = useState(false);
  const [position, setPosition] = useState(0);
  const [audioState, setAudioState] = useState<string>("none");
  const [loop, setLoop] = useState<Loop | null>(remembered?.loop ?? null);
  const [looping, setLooping] = useState(remembered?.looping ?? false);
  const [tempo, setTempo] = useState(remembered?.tempo ?? 100); // percent
  const [semitones, setSemitones] = useState(remembered?.semitones ?? 0);
  const engine = useRef<MixEngine | null>(null);
  // The loop's A and B stay within the shortest stem, so that every stem loops at the same frames.
  const loopSpan = buffers ? Math.min(...buffers.map((b) => b.duration)) : 0;

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
    if (loopSpan > 0) { // the stems are decoded: a remembered loop is kept within the shortest one
      setLoop((old) => old && makeLoop(old.start, old.end, loopSpan));
    }
  }, [loopSpan]);

  useEffect(() => {
    engine.current?.setGains(effectiveGains(controls));
  }, [controls]);

  useEffect(() => {
    if (source.practiceKey) {
      savePractice(source.practiceKey, { controls, loop, looping, tempo, semitones });
    }
  }, [source.practiceKey, controls, loop, looping, tempo, semitones]);

  // Playback errors name the song and what failed; one from an engine closed meanwhile is no longer news.
  const failed = useCallback(
    (what: string, from: MixEngine | null) => (e: unknown) => {
      if (from !== null && engine.current === from) {
        onError(explained(source.name, what, e));
      }
    },
    [source.name, onError],
  );

  useEffect(() => {
    const e = engine.current;
    e?.setTempoPitch(tempo, semitones).catch(failed("the tempo and pitch could not be changed", e));
  }, [tempo, semitones, failed]);

  useEffect(() => {
    const e = engine.current;
    e?.setLoop(looping ? loop : null).catch(failed("the loop could not be set", e));
  }, [loop, looping, failed]);

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
      created.setTempoPitch(tempo, semitones).catch(failed("the tempo and pitch could not be changed", created));
      created.setLoop(looping ? loop : null).catch(failed("the loop could not be set", created));
    }
    return engine.current;
  }, [buffers, controls, tempo, semitones, looping, loop, failed]);

  const toggle = useCallback(() => {
    const e = getEngine();
    if (!e) {
      return;
    }
    if (e.active) {
      e.pause(); // also while it is still starting
      setPlaying(false);
      setPosition(e.position());
    } else {
      e.play()
        .then(() => {
          setAudioState(e.context.state);
          setPlaying(e.playing); // false when paused before it could start
        })
        .catch(failed("playback could not start", e));
    }
  }, [getEngine, failed]);

  const seek = useCallback(
    (seconds: number) => {
      const e = getEngine();
      if (e) {
        e.seek(seconds)
          .then(() => setPosition(e.position()))
          .catch(failed("playback could not move there", e));
      }
    },
    [getEngine, failed],
  );

  const playhead = () => engine.current?.position() ?? 0; // no engine yet: never played nor sought
  const setA = useCallback(() => setLoop((old) => withStart(old, playhead(), loopSpan)), [loopSpan]);
  const setB = useCallback(() => setLoop((old) => withEnd(old, playhead(), loopSpan)), [loopSpan]);
  const setLoopFrom = useCallback((a: number, b: number) => setLoop(makeLoop(a, b, loopSpan)), [loopSpan]);
  const toggleLoop = useCallback(() => {
    setLoop((old) => old ?? makeLoop(0, loopSpan, loopSpan)); // no A-B yet: the whole song loops
    setLooping((on) => !on);
  }, [loopSpan]);

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
      } else if (event.key === "[") {
        setA();
      } else if (event.key === "]") {
        setB();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [toggle, seek, setA, setB]);

  const duration = buffers ? Math.max(...buffers.map((b) => b.duration)) : source.duration;
  const gains = effectiveGains(controls);
  return (
    <div className="mixer">
      <Transport
        ready={buffers !== null}
        playing={playing}
        position={position}
        duration={duration}
        audioState={audioState}
        loop={loop}
        looping={looping}
        tempo={tempo}
        semitones={semitones}
        onToggle={toggle}
        onLoopToggle={toggleLoop}
        onSetA={setA}
        onSetB={setB}
        onTempo={setTempo}
        onPitch={setSemitones}
      >
        <ExportMix
          buffers={buffers}
          sound={{ gains, tempo, semitones }}
          loop={loop}
          channels={source.channels}
          trackName={source.name}
          onError={onError}
        />
      </Transport>
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
          loop={loop}
          onLoop={setLoopFrom}
        />
      ))}
    </div>
  );
}

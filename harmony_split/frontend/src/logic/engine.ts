// Sample-accurate playback of several stems with the Web Audio API: one AudioContext and the mixer's graph
// (logic/graph.ts: a source and a gain per stem, one bus, a SoundTouch node when tempo or pitch is changed).
// All sources start at the same context time with the same offset and rate, so the stems stay in sync to the
// sample; with the A-B loop on they all loop between the same loopStart and loopEnd. Pause, seek, a loop
// change and a switch into or out of time stretching stop the sources and start new ones; gain, tempo and
// pitch changes apply to the running sources.
import { MixGraph, outputChannels, registerStretch, type Sound } from "./graph";
import { loopedPosition, loopStartOffset, type Loop } from "./loop";
import { isIdentity, songTime, tempoRate } from "./tempo";

/** Decodes encoded audio (any format the browser reads) at `sampleRate` Hz without starting any audio output. */
export async function decodeAudio(data: ArrayBuffer, sampleRate: number): Promise<AudioBuffer> {
  const offline = new OfflineAudioContext(1, 1, sampleRate);
  return offline.decodeAudioData(data);
}

const START_LATENCY_S = 0.05;

export class MixEngine {
  readonly context: AudioContext;
  readonly duration: number; // seconds, the longest stem
  private readonly buffers: readonly AudioBuffer[];
  private readonly graph: MixGraph;
  private sources: AudioBufferSourceNode[] = [];
  private sound: Sound;
  private loop: Loop | null = null; // the loop that plays (null: the loop is off)
  private anchorTime = 0; // context seconds at which the playhead was at anchorPosition
  private anchorPosition = 0; // song seconds
  private offset = 0; // song seconds, while paused
  private starting: Promise<void> | null = null; // a start waiting for the context or the worklet
  private generation = 0; // bumped by pause() and close(): a start still waiting then starts nothing
  private onEnded: () => void;

  /**
   * @param buffers one decoded buffer per stem, all at the same sample rate
   * @param onEnded called when playback reaches the end of the longest stem
   */
  constructor(buffers: readonly AudioBuffer[], onEnded: () => void) {
    this.buffers = buffers;
    this.onEnded = onEnded;
    this.duration = Math.max(...buffers.map((b) => b.duration));
    this.context = new AudioContext({ sampleRate: buffers[0]?.sampleRate });
    this.graph = new MixGraph(this.context, buffers.length, outputChannels(buffers[0]?.numberOfChannels ?? 2));
    this.sound = { gains: buffers.map(() => 1), tempo: 100, semitones: 0 };
  }

  get playing(): boolean {
    return this.sources.length > 0;
  }

  /** Playing, or about to: a start is waiting for the audio context or the time-stretch worklet. */
  get active(): boolean {
    return this.playing || this.starting !== null;
  }

  /** The playback position in song seconds (advancing at tempo x real time, wrapping inside the loop). */
  position(): number {
    if (!this.playing) {
      return this.offset;
    }
    const elapsed = this.context.currentTime - this.anchorTime;
    const rate = tempoRate(this.sound.tempo);
    if (this.loop) {
      return loopedPosition(this.anchorPosition, Math.max(0, elapsed) * rate, this.loop);
    }
    return Math.min(this.duration, songTime(this.anchorPosition, elapsed, rate));
  }

  /** Sets each stem's linear gain (the order of the buffers). */
  setGains(values: readonly number[]): void {
    this.sound = { ...this.sound, gains: values };
    this.graph.setGains(values);
  }

  /** Sets the tempo (percent) and pitch (semitones), during playback too. */
  async setTempoPitch(tempo: number, semitones: number): Promise<void> {
    const switching = isIdentity(tempo, semitones) !== isIdentity(this.sound.tempo, this.sound.semitones);
    const at = this.position(); // at the old rate
    this.sound = { ...this.sound, tempo, semitones };
    if (this.playing && switching) {
      await this.seek(at); // the graph changes: new sources through (or around) a SoundTouch node
      return;
    }
    if (this.playing) {
      this.anchorPosition = at; // the clock goes on from here at the new rate
      this.anchorTime = this.context.currentTime;
    }
    for (const source of this.sources) {
      source.playbackRate.setValueAtTime(tempoRate(tempo), this.context.currentTime);
    }
    this.graph.setTempoPitch(this.sound);
  }

  /** Turns the A-B loop on (a loop) or off (null); playing restarts inside the loop, at A if outside it. */
  async setLoop(loop: Loop | null): Promise<void> {
    const same = loop?.start === this.loop?.start && loop?.end === this.loop?.end;
    if (same) {
      return;
    }
    const at = this.position();
    this.loop = loop;
    if (this.playing) {
      await this.seek(at);
    }
  }

  /** Starts playback from the position (inside the loop when it is on); one start at a time. */
  play(): Promise<void> {
    if (this.playing) {
      return Promise.resolve();
    }
    this.starting ??= this.start().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private async start(): Promise<void> {
    const run = this.generation;
    await this.context.resume();
    if (!isIdentity(this.sound.tempo, this.sound.semitones)) {
      await registerStretch(this.context);
    }
    if (run !== this.generation) {
      return; // paused (or closed) while waiting: nothing starts
    }
    if (this.offset >= this.duration) {
      this.offset = 0;
    }
    if (this.loop) {
      this.offset = loopStartOffset(this.offset, this.loop);
    }
    this.graph.route(this.sound);
    const when = this.context.currentTime + START_LATENCY_S;
    this.anchorTime = when;
    this.anchorPosition = this.offset;
    this.sources = this.graph.start(this.buffers, when, this.offset, this.sound, this.loop);
    const longest = this.sources[this.buffers.findIndex((b) => b.duration === this.duration)];
    longest.onended = () => {
      if (this.sources.includes(longest)) {
        this.stopSources();
        this.offset = this.duration;
        this.onEnded();
      }
    };
  }

  /** Stops playback at the current position; a start still waiting is called off. */
  pause(): void {
    this.generation += 1;
    if (this.playing) {
      this.offset = this.position();
      this.stopSources();
    }
  }

  /** Moves the playback position to `seconds`, keeping the play/pause state. */
  async seek(seconds: number): Promise<void> {
    const wasPlaying = this.playing;
    this.stopSources();
    this.offset = Math.min(this.duration, Math.max(0, seconds));
    if (wasPlaying) {
      await this.play();
    }
  }

  close(): void {
    this.generation += 1;
    this.stopSources();
    this.graph.disconnect();
    void this.context.close();
  }

  private stopSources(): void {
    const old = this.sources;
    this.sources = [];
    for (const s of old) {
      s.onended = null;
      s.stop();
      s.disconnect();
    }
  }
}

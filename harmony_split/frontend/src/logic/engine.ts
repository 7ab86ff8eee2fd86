// Sample-accurate playback of several stems with the Web Audio API: one AudioContext, one AudioBufferSourceNode
// and one GainNode per stem. All sources start at the same context time with the same offset, so the stems
// stay in sync to the sample; pause and seek stop the sources and start new ones.

/** Decodes encoded audio (any format the browser reads) at `sampleRate` Hz without starting any audio output. */
export async function decodeAudio(data: ArrayBuffer, sampleRate: number): Promise<AudioBuffer> {
  const offline = new OfflineAudioContext(1, 1, sampleRate);
  return offline.decodeAudioData(data);
}

const START_LATENCY_S = 0.05;

export class MixEngine {
  readonly context: AudioContext;
  readonly duration: number;
  private readonly buffers: readonly AudioBuffer[];
  private readonly gains: GainNode[];
  private sources: AudioBufferSourceNode[] = [];
  private startedAt = 0;
  private offset = 0;
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
    this.gains = buffers.map(() => {
      const gain = this.context.createGain();
      gain.connect(this.context.destination);
      return gain;
    });
  }

  get playing(): boolean {
    return this.sources.length > 0;
  }

  /** The playback position in seconds. */
  position(): number {
    if (!this.playing) {
      return this.offset;
    }
    return Math.min(this.duration, Math.max(0, this.context.currentTime - this.startedAt));
  }

  /** Sets each stem's linear gain (the order of the buffers). */
  setGains(values: readonly number[]): void {
    values.forEach((v, i) => this.gains[i]?.gain.setValueAtTime(v, this.context.currentTime));
  }

  async play(): Promise<void> {
    if (this.playing) {
      return;
    }
    await this.context.resume();
    if (this.offset >= this.duration) {
      this.offset = 0;
    }
    const when = this.context.currentTime + START_LATENCY_S;
    this.startedAt = when - this.offset;
    this.sources = this.buffers.map((buffer, i) => {
      const source = this.context.createBufferSource();
      source.buffer = buffer;
      source.connect(this.gains[i]);
      source.start(when, Math.min(this.offset, buffer.duration));
      return source;
    });
    const longest = this.sources[this.buffers.findIndex((b) => b.duration === this.duration)];
    longest.onended = () => {
      if (this.sources.includes(longest)) {
        this.stopSources();
        this.offset = this.duration;
        this.onEnded();
      }
    };
  }

  pause(): void {
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
    this.stopSources();
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

// The mixer's audio graph, the same for playback (AudioContext) and export (OfflineAudioContext):
//   one AudioBufferSourceNode per stem (playbackRate = tempo) -> its GainNode -> one bus GainNode
//   -> [SoundTouch node: pitch put back after the rate change, plus the asked semitones] -> destination.
// The SoundTouch node is left out at 100 % tempo and 0 semitones, so the plain mix is bit-exact.
// The worklet's processor file is bundled by Vite (`?url`) and served by the app itself.
import { SoundTouchNode } from "@soundtouchjs/audio-worklet";
import processorUrl from "@soundtouchjs/audio-worklet/processor?url";
import type { Loop } from "./loop";
import { isIdentity, tempoRate } from "./tempo";

/** What the graph plays: stem gains (linear, stem order), tempo in percent and pitch in semitones. */
export interface Sound {
  gains: readonly number[];
  tempo: number; // percent, 50-150
  semitones: number; // -6..+6
}

/** The output channels of a mix of `channels`-channel stems: mono stays mono, anything else is stereo. */
export function outputChannels(channels: number): 1 | 2 {
  return channels === 1 ? 1 : 2;
}

const registered = new WeakMap<BaseAudioContext, Promise<void>>();

/** Loads the SoundTouch processor into `context`'s audio worklet (once per context). */
export function registerStretch(context: BaseAudioContext): Promise<void> {
  let done = registered.get(context);
  if (!done) {
    done = SoundTouchNode.register(context as AudioContext, processorUrl);
    registered.set(context, done);
  }
  return done;
}

export class MixGraph {
  readonly gains: GainNode[];
  private readonly bus: GainNode;
  private stretch: SoundTouchNode | null = null;

  /**
   * @param stems the number of stems
   * @param channels the output's channels (1 or 2): the SoundTouch node's output width
   */
  constructor(
    private readonly context: BaseAudioContext,
    stems: number,
    private readonly channels: 1 | 2,
  ) {
    this.bus = context.createGain();
    this.gains = Array.from({ length: stems }, () => {
      const gain = context.createGain();
      gain.connect(this.bus);
      return gain;
    });
  }

  /** The node the stems' sources feed: the bus itself (a keep-alive source may join it). */
  get input(): AudioNode {
    return this.bus;
  }

  setGains(values: readonly number[]): void {
    values.forEach((v, i) => this.gains[i]?.gain.setValueAtTime(v, this.context.currentTime));
  }

  /**
   * Connects the bus to the destination, through a new SoundTouch node unless tempo and pitch are the song's
   * own (the processor must be registered first, see registerStretch). A fresh node per start holds no audio
   * from before a pause or seek.
   */
  route(sound: Sound): void {
    this.bus.disconnect();
    this.stretch?.disconnect();
    this.stretch = null;
    if (isIdentity(sound.tempo, sound.semitones)) {
      this.bus.connect(this.context.destination);
      return;
    }
    this.stretch = new SoundTouchNode({ context: this.context, outputChannelCount: this.channels });
    this.bus.connect(this.stretch);
    this.stretch.connect(this.context.destination);
    this.setTempoPitch(sound);
  }

  /** True when the bus runs through a SoundTouch node. */
  get stretched(): boolean {
    return this.stretch !== null;
  }

  /** Tells the SoundTouch node the sources' rate (it divides the pitch by it) and the asked semitones. */
  setTempoPitch(sound: Sound): void {
    if (this.stretch) {
      const now = this.context.currentTime;
      this.stretch.playbackRate.setValueAtTime(tempoRate(sound.tempo), now);
      this.stretch.pitchSemitones.setValueAtTime(Math.round(sound.semitones), now);
    }
  }

  /**
   * One started source per stem, all at context time `when` from `offset` song seconds, at the tempo's rate,
   * looping between the loop's A and B when `loop` is given.
   */
  start(buffers: readonly AudioBuffer[], when: number, offset: number, sound: Sound, loop: Loop | null) {
    return buffers.map((buffer, i) => {
      const source = this.context.createBufferSource();
      source.buffer = buffer;
      source.playbackRate.value = tempoRate(sound.tempo);
      if (loop) {
        source.loop = true;
        source.loopStart = loop.start;
        source.loopEnd = loop.end;
      }
      source.connect(this.gains[i]);
      source.start(when, Math.min(offset, buffer.duration));
      return source;
    });
  }

  disconnect(): void {
    this.bus.disconnect();
    this.stretch?.disconnect();
    this.stretch = null;
  }
}

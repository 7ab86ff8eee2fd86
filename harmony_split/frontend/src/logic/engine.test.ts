// The transport's start and pause with a fake Web Audio graph (jsdom has none): a pause pressed while playback is
// still starting (waiting for the audio context or the time-stretch worklet) is honoured.
vi.hoisted(() => {
  Object.assign(globalThis, { AudioWorkletNode: class {} });
});
vi.mock("@soundtouchjs/audio-worklet", () => ({
  SoundTouchNode: class {
    static register(): Promise<void> {
      return new Promise((resolve) => setTimeout(resolve, 20));
    }
  },
}));

import { MixEngine } from "./engine";

class Param {
  value = 1;
  setValueAtTime(value: number): void {
    this.value = value;
  }
}

class FakeNode {
  gain = new Param();
  connect(): void {}
  disconnect(): void {}
}

let started = 0;

class FakeSource extends FakeNode {
  buffer: unknown = null;
  playbackRate = new Param();
  loop = false;
  loopStart = 0;
  loopEnd = 0;
  onended: (() => void) | null = null;
  start(): void {
    started += 1;
  }
  stop(): void {}
}

class FakeContext {
  currentTime = 0;
  state = "suspended";
  sampleRate = 44100;
  destination = new FakeNode();
  createGain(): FakeNode {
    return new FakeNode();
  }
  createBufferSource(): FakeSource {
    return new FakeSource();
  }
  resume(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, 10)); // the first start waits for the context
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const buffer = { duration: 10, sampleRate: 44100, numberOfChannels: 2, length: 441000 } as unknown as AudioBuffer;

beforeEach(() => {
  started = 0;
  vi.stubGlobal("AudioContext", FakeContext);
});
afterEach(() => vi.unstubAllGlobals());

describe("MixEngine", () => {
  it("starts the stems when play is not called off", async () => {
    const engine = new MixEngine([buffer, buffer, buffer], () => undefined);
    await engine.play();
    expect(engine.playing).toBe(true);
    expect(started).toBe(3);
  });

  it("honours a pause pressed while playback is still starting", async () => {
    const engine = new MixEngine([buffer, buffer, buffer], () => undefined);
    const starting = engine.play();
    expect(engine.playing).toBe(false);
    expect(engine.active).toBe(true); // what the transport's toggle looks at
    engine.pause();
    await starting;
    expect(engine.playing).toBe(false);
    expect(engine.active).toBe(false);
    expect(started).toBe(0);
  });

  it("honours a pause while a tempo change restarts playback through the worklet", async () => {
    const engine = new MixEngine([buffer, buffer, buffer], () => undefined);
    await engine.play();
    const restarting = engine.setTempoPitch(75, 0); // the graph changes: new sources once the worklet is loaded
    engine.pause();
    await restarting;
    expect(engine.playing).toBe(false);
    expect(started).toBe(3); // the first start's only
  });
});

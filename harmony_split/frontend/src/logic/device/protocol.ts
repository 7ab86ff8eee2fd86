// The messages between the page and the separation worker (workers/separate.worker.ts).
import type { DeviceSpec } from "./geometry";

/** Page -> worker: separate `channels` (each `[samples]` at `sampleRate` Hz) with the ONNX model at `modelUrl`. */
export interface SeparateRequest {
  channels: Float32Array<ArrayBuffer>[];
  sampleRate: number;
  modelUrl: string;
  spec: DeviceSpec;
}

/** The worker's stages, in the order they run (benchmarks/browser.py reports each one's share of the time). */
export const STAGES = ["resample down", "stft", "features", "model", "masks", "istft", "resample up", "residual"] as const;
export type Stage = (typeof STAGES)[number];

/** Wall seconds per stage, summed over the chunks. */
export type StageSeconds = Record<Stage, number>;

/** A stopwatch per stage: `time(stage, work)` runs `work` and adds its wall time to the stage. */
export class StageClock {
  readonly seconds: StageSeconds = Object.fromEntries(STAGES.map((s) => [s, 0])) as StageSeconds;

  time<T>(stage: Stage, work: () => T): T {
    const started = performance.now();
    try {
      return work();
    } finally {
      this.seconds[stage] += (performance.now() - started) / 1000;
    }
  }

  async timeAsync<T>(stage: Stage, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.seconds[stage] += (performance.now() - started) / 1000;
    }
  }
}

/** What ran the model, for the page and the benchmark (benchmarks/browser.py). */
export interface RunInfo {
  backend: "wasm" | "webgpu";
  threads: number; // WASM threads (1 without cross-origin isolation)
  seconds: number; // wall time of the separation in the worker, from the request to the stems
  modelSeconds: number; // of which the model calls
  stages: StageSeconds; // of which each stage
  modelBytes: number; // bytes of the model file that came over the network for this run (0: from the browser's cache)
}

/** Worker -> page. Progress `fraction` is 0..1; the stems have the request's rate, channels and length. */
export type SeparateReply =
  | { kind: "progress"; fraction: number; stage: string }
  | { kind: "done"; vocals: Float32Array<ArrayBuffer>[]; accompaniment: Float32Array<ArrayBuffer>[]; info: RunInfo }
  | { kind: "error"; message: string };

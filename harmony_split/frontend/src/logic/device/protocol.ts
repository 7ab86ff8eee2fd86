// The messages between the page and the separation worker (workers/separate.worker.ts).
import type { DeviceSpec } from "./geometry";

/** Page -> worker: separate `channels` (each `[samples]` at `sampleRate` Hz) with the ONNX model at `modelUrl`. */
export interface SeparateRequest {
  channels: Float32Array<ArrayBuffer>[];
  sampleRate: number;
  modelUrl: string;
  spec: DeviceSpec;
}

/** What ran the model, for the page and the benchmark (benchmarks/browser.py). */
export interface RunInfo {
  backend: "wasm" | "webgpu";
  threads: number; // WASM threads (1 without cross-origin isolation)
  seconds: number; // wall time of the separation in the worker, from the request to the stems
  modelSeconds: number; // of which the model calls
  modelBytes: number; // bytes of the model file that came over the network for this run (0: from the browser's cache)
}

/** Worker -> page. Progress `fraction` is 0..1; the stems have the request's rate, channels and length. */
export type SeparateReply =
  | { kind: "progress"; fraction: number; stage: string }
  | { kind: "done"; vocals: Float32Array<ArrayBuffer>[]; accompaniment: Float32Array<ArrayBuffer>[]; info: RunInfo }
  | { kind: "error"; message: string };

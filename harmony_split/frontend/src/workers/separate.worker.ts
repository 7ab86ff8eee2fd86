// Separation on the musician's device, off the page's thread: resample to the model's rate (libsoxr HQ, as the server), run
// the ONNX model with onnxruntime-web in chunks (WASM with SIMD and threads; WebGPU where the browser has an
// adapter), resample the vocals back, accompaniment = mixture - vocals. See harmony_split/README.md.
import type { InferenceSession, Tensor } from "onnxruntime-web";
import type { DeviceSpec } from "../logic/device/geometry";
import { StageClock, type RunInfo, type SeparateReply, type SeparateRequest } from "../logic/device/protocol";
import { resample, resampledLength } from "../logic/device/resample";
import { separateVocals, type ModelOutput } from "../logic/device/separate";

type Ort = typeof import("onnxruntime-web");

interface Loaded {
  url: string;
  bytes: number; // transferred over the network (PerformanceResourceTiming.transferSize: 0 from the HTTP cache)
  ort: Ort;
  session: InferenceSession;
  backend: RunInfo["backend"];
  threads: number;
}

let loaded: Loaded | null = null;

function post(reply: SeparateReply, transfer: Transferable[] = []): void {
  (self as unknown as Worker).postMessage(reply, transfer);
}

async function hasGpu(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) {
    return false;
  }
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

async function load(url: string): Promise<Loaded> {
  if (loaded?.url === url) {
    return loaded;
  }
  const gpu = await hasGpu();
  const ort: Ort = gpu ? await import("onnxruntime-web/webgpu") : await import("onnxruntime-web/wasm");
  const threads = self.crossOriginIsolated ? Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 8)) : 1;
  ort.env.wasm.numThreads = threads;
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) {
    throw new Error(`the model could not be downloaded (${response.status}): reload the page`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const timing = performance.getEntriesByType("resource").filter((e) => e.name.endsWith(url)).pop();
  const transferred = timing instanceof PerformanceResourceTiming ? timing.transferSize : bytes.length;
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: gpu ? ["webgpu", "wasm"] : ["wasm"],
    graphOptimizationLevel: "all",
  });
  loaded = { url, bytes: transferred, ort, session, backend: gpu ? "webgpu" : "wasm", threads };
  return loaded;
}

async function separate(request: SeparateRequest): Promise<void> {
  const started = performance.now();
  const { channels, sampleRate, spec } = request;
  post({ kind: "progress", fraction: 0, stage: "Loading the model" });
  const model = await load(request.modelUrl);
  const rate = spec.expected_sr;
  const lowLength = resampledLength(channels[0].length, sampleRate, rate);
  post({ kind: "progress", fraction: 0.02, stage: "Resampling" });
  const clock = new StageClock();
  const low: Float32Array[] = [];
  for (const channel of channels) {
    low.push(await clock.timeAsync("resample down", () => resample(channel, sampleRate, rate, lowLength)));
  }
  const run = async (input: Float32Array, dims: readonly [number, number, number, number]): Promise<ModelOutput> => {
    const feeds: Record<string, Tensor> = { mixture: new model.ort.Tensor("float32", input, [...dims]) };
    const out = await model.session.run(feeds);
    const acc = out.accompaniment;
    const voice = out.voice;
    return { acc: (await acc.getData()) as Float32Array, voice: (await voice.getData()) as Float32Array, dims: acc.dims };
  };
  const vocalsLow = await separateVocals(low, spec as DeviceSpec, run, (fraction) =>
    post({ kind: "progress", fraction: 0.05 + 0.9 * fraction, stage: "Separating" }), clock,
  );
  low.length = 0;
  post({ kind: "progress", fraction: 0.95, stage: "Resampling" });
  const vocals: Float32Array<ArrayBuffer>[] = [];
  for (const v of vocalsLow.splice(0)) {
    vocals.push(await clock.timeAsync("resample up", () => resample(v, rate, sampleRate, channels[0].length)));
  }
  const accompaniment = clock.time("residual", () => channels.map((mix, c) => {
    const out = new Float32Array(mix.length);
    const voice = vocals[c];
    for (let i = 0; i < mix.length; i++) {
      out[i] = mix[i] - voice[i];
    }
    return out;
  }));
  const info: RunInfo = {
    backend: model.backend,
    threads: model.threads,
    seconds: (performance.now() - started) / 1000,
    modelSeconds: clock.seconds.model,
    stages: clock.seconds,
    modelBytes: model.bytes,
  };
  post({ kind: "done", vocals, accompaniment, info }, [...vocals, ...accompaniment].map((a) => a.buffer));
}

self.onmessage = (event: MessageEvent<SeparateRequest>) => {
  separate(event.data).catch((e: unknown) => post({ kind: "error", message: e instanceof Error ? e.message : String(e) }));
};

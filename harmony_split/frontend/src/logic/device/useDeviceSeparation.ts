// Separating one file on the musician's device: decode it (Web Audio), send its samples to the worker
// (workers/separate.worker.ts), and turn the worker's stems into a StemSource for the mixer with WAV downloads.
// Nothing of the audio leaves the page.
import { useEffect, useState } from "react";
import { bufferOf, channelsOf } from "../buffers";
import { decodeAudio } from "../engine";
import { downloadName, type StemSource } from "../stems";
import type { DeviceSpec } from "./geometry";
import type { RunInfo, SeparateReply, SeparateRequest } from "./protocol";
import { encodeWav } from "../wav";

export const DEVICE_RATE = 44100; // Hz: songs are decoded (and separated) at this rate

/** A model the device can run: its ONNX export's URL and spec (GET /api/models/ `device`). */
export interface DeviceModel {
  url: string;
  spec: DeviceSpec;
}

export type DeviceState =
  | { phase: "running"; fraction: number; stage: string }
  | { phase: "done"; source: StemSource; info: RunInfo; duration: number }
  | { phase: "failed" };

export function useDeviceSeparation(file: File, model: DeviceModel, onError: (e: unknown) => void): DeviceState {
  const [state, setState] = useState<DeviceState>({ phase: "running", fraction: 0, stage: "Decoding" });
  useEffect(() => {
    let alive = true;
    const urls: string[] = [];
    const worker = new Worker(new URL("../../workers/separate.worker.ts", import.meta.url), { type: "module" });
    const fail = (e: unknown) => {
      if (alive) {
        setState({ phase: "failed" });
        onError(e);
      }
    };
    const start = async () => {
      let mixture: AudioBuffer;
      try {
        mixture = await decodeAudio(await file.arrayBuffer(), DEVICE_RATE);
      } catch {
        throw new Error(`${file.name}: this browser cannot read the file as audio`);
      }
      const channels = channelsOf(mixture).map((c) => c.slice()); // copies: they are transferred to the worker
      worker.onmessage = (event: MessageEvent<SeparateReply>) => {
        const reply = event.data;
        if (!alive) {
          return;
        }
        if (reply.kind === "progress") {
          setState({ phase: "running", fraction: reply.fraction, stage: reply.stage });
        } else if (reply.kind === "error") {
          fail(new Error(`${file.name}: the separation on this device failed (${reply.message})`));
        } else {
          const buffers = { mixture, vocals: bufferOf(reply.vocals, DEVICE_RATE), accompaniment: bufferOf(reply.accompaniment, DEVICE_RATE) };
          const wavUrl = (stem: "vocals" | "accompaniment") => {
            let url: string | null = null;
            return () => {
              if (url === null) {
                url = URL.createObjectURL(encodeWav(channelsOf(buffers[stem]), DEVICE_RATE));
                urls.push(url);
              }
              return url;
            };
          };
          const downloads = {
            mixture: { url: URL.createObjectURL(file), filename: file.name },
            vocals: { url: wavUrl("vocals"), filename: downloadName(file.name, "vocals.wav") },
            accompaniment: { url: wavUrl("accompaniment"), filename: downloadName(file.name, "accompaniment.wav") },
          };
          urls.push(downloads.mixture.url);
          const source: StemSource = {
            duration: mixture.duration,
            name: file.name,
            channels: mixture.numberOfChannels,
            load: (names) => Promise.resolve(names.map((n) => buffers[n])),
            download: (stem) => downloads[stem],
          };
          setState({ phase: "done", source, info: reply.info, duration: mixture.duration });
          worker.terminate();
        }
      };
      worker.onerror = (event) => fail(new Error(`${file.name}: the separation on this device failed (${event.message})`));
      const request: SeparateRequest = { channels, sampleRate: DEVICE_RATE, modelUrl: model.url, spec: model.spec };
      worker.postMessage(request, channels.map((c) => c.buffer));
    };
    start().catch(fail);
    return () => {
      alive = false;
      worker.terminate();
      urls.forEach((u) => URL.revokeObjectURL(u));
    };
  }, [file, model, onError]);
  return state;
}

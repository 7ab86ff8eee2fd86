// A Web Worker that encodes 16-bit PCM to MP3 with @breezystack/lamejs, off the page's main thread (a 3-minute
// song takes LAME in JavaScript several seconds; the page stays responsive meanwhile).
import { Mp3Encoder } from "@breezystack/lamejs";

/** The job: one Int16Array per channel (1 or 2, equal lengths), the sample rate (Hz) and the bit rate (kbit/s). */
export interface Mp3Job {
  channels: Int16Array[];
  sampleRate: number;
  kbps: number;
}

/** The answer: the MP3 file's bytes, or a one-line reason. */
export type Mp3Answer = { parts: Uint8Array[] } | { error: string };

const FRAME = 1152; // samples per channel that LAME takes at a time

function encode({ channels, sampleRate, kbps }: Mp3Job): Uint8Array[] {
  const encoder = new Mp3Encoder(channels.length, sampleRate, kbps);
  const [left, right] = channels;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < left.length; i += FRAME) {
    const l = left.subarray(i, i + FRAME);
    parts.push(new Uint8Array(right ? encoder.encodeBuffer(l, right.subarray(i, i + FRAME)) : encoder.encodeBuffer(l)));
  }
  parts.push(new Uint8Array(encoder.flush()));
  return parts;
}

self.onmessage = (event: MessageEvent<Mp3Job>) => {
  let answer: Mp3Answer;
  try {
    answer = { parts: encode(event.data) };
  } catch (e) {
    answer = { error: e instanceof Error ? e.message : String(e) };
  }
  self.postMessage(answer, { transfer: "parts" in answer ? answer.parts.map((p) => p.buffer) : [] });
};

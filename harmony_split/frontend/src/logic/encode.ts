// Encoders of an exported mix: 16-bit PCM WAV (logic/wav.ts) and
// MP3 through @breezystack/lamejs (LAME's encoder in JavaScript) in a Web Worker, loaded only when an MP3 is asked
// for.
import type { Mp3Answer, Mp3Job } from "./mp3.worker";
import { channelsOf } from "./buffers";
import { encodeWav, toInt16 } from "./wav";

export type MixFormat = "wav" | "mp3";

export const MP3_KBPS = 192; // the MP3 export's bit rate, kbit/s

/** The sample rates (Hz) an MP3 file can have: MPEG-1, 2 and 2.5 layer III. */
export const MP3_RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000] as const;

/** Why a mix at `sampleRate` Hz cannot be an MP3 (one line, for the musician), or null when it can. */
export function mp3Refusal(sampleRate: number): string | null {
  return (MP3_RATES as readonly number[]).includes(sampleRate)
    ? null
    : `an MP3 cannot hold ${sampleRate / 1000} kHz audio (it holds 8 to 48 kHz): export this song as WAV`;
}

/** An MP3 file of `audio` (mono or stereo, its sample rate: one MP3 can hold) at MP3_KBPS, encoded by LAME in a
 * Web Worker (logic/mp3.worker.ts). */
export async function encodeMp3(audio: AudioBuffer): Promise<Blob> {
  const refusal = mp3Refusal(audio.sampleRate);
  if (refusal) {
    throw new Error(refusal);
  }
  const channels = Array.from({ length: Math.min(2, audio.numberOfChannels) }, (_, c) => toInt16(audio.getChannelData(c)));
  const worker = new Worker(new URL("./mp3.worker.ts", import.meta.url), { type: "module" });
  try {
    const answer = await new Promise<Mp3Answer>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<Mp3Answer>) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(`the MP3 encoder stopped (${event.message})`));
      const job: Mp3Job = { channels, sampleRate: audio.sampleRate, kbps: MP3_KBPS };
      worker.postMessage(job, channels.map((c) => c.buffer));
    });
    if ("error" in answer) {
      throw new Error(`the MP3 encoder failed (${answer.error})`);
    }
    return new Blob(answer.parts.map((p) => new Uint8Array(p)), { type: "audio/mpeg" });
  } finally {
    worker.terminate();
  }
}

/** The mix encoded as `format`. */
export async function encodeMix(audio: AudioBuffer, format: MixFormat): Promise<Blob> {
  return format === "mp3" ? encodeMp3(audio) : encodeWav(channelsOf(audio), audio.sampleRate);
}

// Encoders of an exported mix: 16-bit PCM WAV (written here: a 44-byte RIFF header and interleaved samples) and
// MP3 through @breezystack/lamejs (LAME's encoder in JavaScript) in a Web Worker, loaded only when an MP3 is asked
// for.
import type { Mp3Answer, Mp3Job } from "./mp3.worker";

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

/** Float samples in [-1, 1] as 16-bit integers (x * 32768, rounded, clipped): the inverse of decoding. */
export function toInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768)));
  }
  return out;
}

/** A 16-bit PCM WAV file of `audio` (all its channels, its sample rate). */
export function encodeWav(audio: AudioBuffer): Blob {
  const channels = audio.numberOfChannels;
  const data = Array.from({ length: channels }, (_, c) => toInt16(audio.getChannelData(c)));
  const bytes = audio.length * channels * 2;
  const view = new DataView(new ArrayBuffer(44 + bytes));
  const text = (at: number, s: string) => [...s].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + bytes, true);
  text(8, "WAVEfmt ");
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, audio.sampleRate, true);
  view.setUint32(28, audio.sampleRate * channels * 2, true); // bytes per second
  view.setUint16(32, channels * 2, true); // bytes per frame
  view.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  view.setUint32(40, bytes, true);
  let at = 44;
  for (let i = 0; i < audio.length; i++) {
    for (let c = 0; c < channels; c++) {
      view.setInt16(at, data[c][i], true);
      at += 2;
    }
  }
  return new Blob([view.buffer], { type: "audio/wav" });
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
  return format === "mp3" ? encodeMp3(audio) : encodeWav(audio);
}

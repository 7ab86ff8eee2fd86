// 16-bit PCM WAV files made in the browser: the exported mix (logic/encode.ts) and the stems separated on the
// device (logic/device/useDeviceSeparation.ts). One writer: a 44-byte RIFF header, then the interleaved samples
// in blocks, so that a long song is never copied into one huge array.

const BLOCK_FRAMES = 1 << 16; // frames quantised and interleaved per piece of the Blob

/** Float samples in [-1, 1] as 16-bit integers (x * 32768, rounded, clipped): the inverse of decoding. */
export function toInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768)));
  }
  return out;
}

/** A WAV file of `channels` (each `[frames]`, floats nominally in [-1, 1], all one length) at `sampleRate` Hz. */
export function encodeWav(channels: readonly Float32Array[], sampleRate: number): Blob {
  const count = channels.length;
  const frames = channels[0]?.length ?? 0;
  const dataBytes = frames * count * 2;
  const header = new DataView(new ArrayBuffer(44));
  const text = (at: number, s: string) => [...s].forEach((ch, i) => header.setUint8(at + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  header.setUint32(4, 36 + dataBytes, true);
  text(8, "WAVEfmt ");
  header.setUint32(16, 16, true); // fmt chunk size
  header.setUint16(20, 1, true); // PCM
  header.setUint16(22, count, true);
  header.setUint32(24, sampleRate, true);
  header.setUint32(28, sampleRate * count * 2, true); // bytes per second
  header.setUint16(32, count * 2, true); // bytes per frame
  header.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  header.setUint32(40, dataBytes, true);
  const parts: BlobPart[] = [header.buffer];
  for (let first = 0; first < frames; first += BLOCK_FRAMES) {
    const n = Math.min(BLOCK_FRAMES, frames - first);
    const block = channels.map((c) => toInt16(c.subarray(first, first + n)));
    const pcm = new Int16Array(n * count);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < count; c++) {
        pcm[i * count + c] = block[c][i];
      }
    }
    parts.push(pcm.buffer);
  }
  return new Blob(parts, { type: "audio/wav" });
}

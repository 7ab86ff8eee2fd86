// Stems as WAV files made in the browser: 16-bit PCM (the server's default stem format), samples clipped to
// [-1, 1] and rounded as libsndfile writes them.

/** A WAV file of `channels` (each `[samples]`, floats nominally in [-1, 1]) at `sampleRate` Hz. */
export function encodeWav(channels: readonly Float32Array[], sampleRate: number): Blob {
  const count = channels.length;
  const samples = channels[0]?.length ?? 0;
  const dataBytes = samples * count * 2;
  const header = new DataView(new ArrayBuffer(44));
  const text = (offset: number, value: string) =>
    [...value].forEach((ch, i) => header.setUint8(offset + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  header.setUint32(4, 36 + dataBytes, true);
  text(8, "WAVE");
  text(12, "fmt ");
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
  const block = 1 << 16; // frames per piece: a long song is not copied into one huge array
  for (let first = 0; first < samples; first += block) {
    const n = Math.min(block, samples - first);
    const pcm = new Int16Array(n * count);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < count; c++) {
        const x = Math.max(-1, Math.min(1, channels[c][first + i]));
        pcm[i * count + c] = Math.round(x * 32767);
      }
    }
    parts.push(pcm.buffer);
  }
  return new Blob(parts, { type: "audio/wav" });
}

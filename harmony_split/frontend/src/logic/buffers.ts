// AudioBuffers to and from their channels' samples: one place for the copies that the export (logic/render.ts),
// the WAV writer's callers (logic/encode.ts) and the device's stems (logic/device/useDeviceSeparation.ts) make.

/** The channels of `audio`, each `[frames]` (views, not copies). */
export function channelsOf(audio: AudioBuffer): Float32Array<ArrayBuffer>[] {
  return Array.from({ length: audio.numberOfChannels }, (_, c) => audio.getChannelData(c));
}

/** An AudioBuffer at `sampleRate` Hz holding `channels` (each `[frames]`, all one length, at least 1 frame). */
export function bufferOf(channels: readonly Float32Array<ArrayBuffer>[], sampleRate: number): AudioBuffer {
  const out = new AudioBuffer({ length: channels[0].length, numberOfChannels: channels.length, sampleRate });
  channels.forEach((samples, c) => out.copyToChannel(samples, c));
  return out;
}

/** Frames [first, first + length) of `audio` as a new buffer (`first` and `length` within it, `length` >= 1). */
export function framesOf(audio: AudioBuffer, first: number, length: number): AudioBuffer {
  return bufferOf(channelsOf(audio).map((c) => c.subarray(first, first + length)), audio.sampleRate);
}

/** The sample-wise sum of `buffers` (all at one rate): as long and with as many channels as the largest; a mono
 * buffer adds to every channel. */
export function sumOf(buffers: readonly AudioBuffer[]): AudioBuffer {
  const length = Math.max(...buffers.map((b) => b.length));
  const channels = Math.max(...buffers.map((b) => b.numberOfChannels));
  const out = Array.from({ length: channels }, () => new Float32Array(length));
  for (const buffer of buffers) {
    const from = channelsOf(buffer);
    out.forEach((samples, c) => {
      const add = from[Math.min(c, from.length - 1)];
      for (let i = 0; i < add.length; i += 1) {
        samples[i] += add[i];
      }
    });
  }
  return bufferOf(out, buffers[0].sampleRate);
}

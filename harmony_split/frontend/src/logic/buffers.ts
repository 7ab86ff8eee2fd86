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

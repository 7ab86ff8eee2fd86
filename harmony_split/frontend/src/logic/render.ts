// Export of the musician's mix: the whole song (or the A-B loop's span) rendered through the playback graph (logic/graph.ts) in an
// OfflineAudioContext, at the stems' sample rate, with their gains, tempo and pitch. With time stretching, the
// stems start after START_PAD_S of silence (SoundTouch drops the first few ms of what it is fed, so that is
// silence, not the song), and the SoundTouch node delays its output by a fixed number of frames. Where the song
// starts in the output is measured on a probe (silence, then a constant signal, through the same settings) and
// everything before it cut off, so the export starts with the song and lasts ceil(frames / tempo rate) frames.
// WSOLA places each stretched piece within its seek window, so the song's start and end can land up to about
// 25 ms off that ideal (measured: docs in harmony_split/README.md).
import { framesOf } from "./buffers";
import { MixGraph, registerStretch, type Sound } from "./graph";
import type { Loop } from "./loop";
import { isIdentity, stretchedFrames } from "./tempo";

const START_PAD_S = 0.25; // seconds of silence before the stems, with time stretching
const PROBE_S = 1; // seconds of probe signal: far longer than SoundTouch's delay (tens to a few hundred ms)
const PROBE_LEVEL = 0.5; // the probe's constant sample value
const PROBE_THRESHOLD = 0.01; // the first output sample above this is the probe's start

/** Renders `buffers` (one per stem, same rate) through the graph; `frames` frames of `channels` channels. */
async function renderGraph(
  buffers: readonly AudioBuffer[],
  sound: Sound,
  channels: 1 | 2,
  frames: number,
): Promise<AudioBuffer> {
  const sampleRate = buffers[0].sampleRate;
  const context = new OfflineAudioContext(channels, frames, sampleRate);
  const stretched = !isIdentity(sound.tempo, sound.semitones);
  if (stretched) {
    await registerStretch(context);
  }
  const graph = new MixGraph(context, buffers.length, channels);
  graph.setGains(sound.gains);
  graph.route(sound);
  if (stretched) {
    // Silence that keeps the worklet's input alive after the stems end, so its last frames come out.
    const keepAlive = context.createConstantSource();
    keepAlive.offset.value = 0;
    keepAlive.connect(graph.input);
    keepAlive.start(0);
  }
  graph.start(buffers, stretched ? START_PAD_S : 0, 0, sound, null);
  return context.startRendering();
}

/** The output frame at which the stems' first frame comes out of the graph, at these tempo/pitch settings and
 * this sample rate (START_PAD_S plus SoundTouch's delay). */
async function stretchDelay(sound: Sound, channels: 1 | 2, sampleRate: number): Promise<number> {
  const probe = new AudioBuffer({ length: Math.round(PROBE_S * sampleRate), numberOfChannels: 1, sampleRate });
  probe.getChannelData(0).fill(PROBE_LEVEL);
  const frames = Math.round(START_PAD_S * sampleRate) + stretchedFrames(probe.length, sound.tempo);
  const out = await renderGraph([probe], { ...sound, gains: [1] }, channels, frames);
  const first = out.getChannelData(0).findIndex((x) => Math.abs(x) > PROBE_THRESHOLD);
  if (first < 0) {
    throw new Error("the tempo and pitch processor gave no sound");
  }
  return first;
}

/** Frames [round(start * rate), round(end * rate)) of `buffer` (seconds), as a new buffer; a stem shorter than
 * the range gives what it has (at least one frame of silence, as an AudioBuffer cannot be empty). */
export function sliceBuffer(buffer: AudioBuffer, range: Loop): AudioBuffer {
  const first = Math.min(buffer.length, Math.round(range.start * buffer.sampleRate));
  const last = Math.min(buffer.length, Math.round(range.end * buffer.sampleRate));
  return framesOf(buffer, first, Math.max(1, last - first));
}

/**
 * The mix of the whole song, or of the A-B loop's span, as an AudioBuffer at the stems' sample rate.
 * @param stems one decoded buffer per stem (the mixer's order), same sample rate
 * @param sound the stems' linear gains, tempo (percent) and pitch (semitones)
 * @param channels the output's channels (the input's: 1 or 2)
 * @param range the span to render, song seconds (A-B); null: the whole song
 * @returns ceil(the longest stem's frames in the range / tempo rate) frames
 */
export async function renderMix(
  stems: readonly AudioBuffer[],
  sound: Sound,
  channels: 1 | 2,
  range: Loop | null = null,
): Promise<AudioBuffer> {
  const buffers = range ? stems.map((b) => sliceBuffer(b, range)) : stems;
  const sampleRate = buffers[0].sampleRate;
  const frames = stretchedFrames(Math.max(...buffers.map((b) => b.length)), sound.tempo);
  if (isIdentity(sound.tempo, sound.semitones)) {
    return renderGraph(buffers, sound, channels, frames);
  }
  const delay = await stretchDelay(sound, channels, sampleRate);
  const rendered = await renderGraph(buffers, sound, channels, frames + delay);
  return framesOf(rendered, delay, frames);
}

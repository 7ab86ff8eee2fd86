// One stem's waveform (wavesurfer.js, drawn from the already decoded buffer: a stereo stem shows its left
// channel above its right one) with a playhead and the A-B loop.
// Clicking it seeks the whole mix; dragging across it sets the loop (wavesurfer's regions plugin), and the
// loop's region can be moved or resized by its edges. Every stem's waveform shows the same loop.
import { useEffect, useRef } from "react";
import WaveSurfer from "wavesurfer.js";
import RegionsPlugin, { type Region } from "wavesurfer.js/dist/plugins/regions.esm.js";
import type { Loop } from "../logic/loop";

const LOOP_ID = "loop"; // the id of the region that shows the loop (a dragged selection has another)
const LOOP_COLOR = "rgba(255, 181, 71, 0.24)"; // styles.css's --loop, see-through
const FALLBACK_COLOR = "#7c9cff"; // when the page's styles give no --stem (styles.css's --accent)
const HEIGHT_PX = 80; // the whole waveform's height, both channels of a stereo stem together

/** The stem's colour: the CSS custom property `--stem` where the waveform is drawn (styles/mixer.css). */
function stemColor(element: HTMLElement): string {
  return getComputedStyle(element).getPropertyValue("--stem").trim() || FALLBACK_COLOR;
}

/** wavesurfer's options for the channels of `buffer` in `color`: one waveform, or left above right for stereo. */
function channelOptions(buffer: AudioBuffer, color: string) {
  const stereo = buffer.numberOfChannels >= 2;
  return {
    peaks: stereo ? [buffer.getChannelData(0), buffer.getChannelData(1)] : [buffer.getChannelData(0)],
    height: stereo ? HEIGHT_PX / 2 : HEIGHT_PX, // per channel
    splitChannels: stereo ? [{ waveColor: color }, { waveColor: color }] : undefined,
    waveColor: color,
    progressColor: color,
  };
}

export function Waveform({
  buffer,
  position,
  onSeek,
  label,
  loop,
  onLoop,
}: {
  buffer: AudioBuffer;
  position: number; // song seconds
  onSeek: (seconds: number) => void;
  label: string;
  loop: Loop | null;
  onLoop: (a: number, b: number) => void; // seconds, as dragged (the mixer clamps and orders them)
}) {
  const container = useRef<HTMLDivElement>(null);
  const regions = useRef<RegionsPlugin | null>(null);
  const seek = useRef(onSeek);
  seek.current = onSeek;
  const setLoop = useRef(onLoop);
  setLoop.current = onLoop;

  useEffect(() => {
    if (!container.current) {
      return;
    }
    const plugin = RegionsPlugin.create();
    const surfer = WaveSurfer.create({
      container: container.current,
      ...channelOptions(buffer, stemColor(container.current)),
      duration: buffer.duration,
      cursorWidth: 0,
      barWidth: 2,
      barGap: 1,
      barRadius: 1,
      interact: true,
      plugins: [plugin],
    });
    plugin.enableDragSelection({ color: LOOP_COLOR });
    const offClick = surfer.on("click", (relativeX: number) => seek.current(relativeX * buffer.duration));
    const offCreated = plugin.on("region-created", (region: Region) => {
      if (region.id !== LOOP_ID) {
        region.remove(); // a new drag: it becomes the loop, which every waveform then draws
        setLoop.current(region.start, region.end);
      }
    });
    const offUpdated = plugin.on("region-updated", (region: Region) => setLoop.current(region.start, region.end));
    regions.current = plugin;
    return () => {
      offClick();
      offCreated();
      offUpdated();
      regions.current = null;
      surfer.destroy();
    };
  }, [buffer]);

  useEffect(() => {
    const plugin = regions.current;
    if (!plugin) {
      return;
    }
    const shown = plugin.getRegions().find((r) => r.id === LOOP_ID);
    if (!loop) {
      shown?.remove();
    } else if (shown) {
      shown.setOptions({ start: loop.start, end: loop.end });
    } else {
      plugin.addRegion({ id: LOOP_ID, start: loop.start, end: loop.end, color: LOOP_COLOR, drag: true, resize: true });
    }
  }, [loop, buffer]);

  const percent = buffer.duration > 0 ? Math.min(100, (position / buffer.duration) * 100) : 0;
  return (
    <div className="waveform" aria-label={`${label} waveform${buffer.numberOfChannels >= 2 ? " (left above right)" : ""}; click to seek, drag to set the loop`} role="img">
      <div ref={container} />
      <div className="playhead" style={{ left: `${percent}%` }} />
    </div>
  );
}

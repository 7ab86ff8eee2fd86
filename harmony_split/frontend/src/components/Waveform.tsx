// One stem's waveform (wavesurfer.js, drawn from the already decoded buffer) with a playhead.
// Clicking it seeks the whole mix.
import { useEffect, useRef } from "react";
import WaveSurfer from "wavesurfer.js";

export function Waveform({
  buffer,
  position,
  onSeek,
  label,
}: {
  buffer: AudioBuffer;
  position: number;
  onSeek: (seconds: number) => void;
  label: string;
}) {
  const container = useRef<HTMLDivElement>(null);
  const seek = useRef(onSeek);
  seek.current = onSeek;

  useEffect(() => {
    if (!container.current) {
      return;
    }
    const surfer = WaveSurfer.create({
      container: container.current,
      peaks: [buffer.getChannelData(0)],
      duration: buffer.duration,
      height: 56,
      waveColor: "#6b7fd7",
      progressColor: "#6b7fd7",
      cursorWidth: 0,
      barWidth: 2,
      barGap: 1,
      interact: true,
    });
    const unsubscribe = surfer.on("click", (relativeX: number) => seek.current(relativeX * buffer.duration));
    return () => {
      unsubscribe();
      surfer.destroy();
    };
  }, [buffer]);

  const percent = buffer.duration > 0 ? Math.min(100, (position / buffer.duration) * 100) : 0;
  return (
    <div className="waveform" aria-label={`${label} waveform; click to seek`} role="img">
      <div ref={container} />
      <div className="playhead" style={{ left: `${percent}%` }} />
    </div>
  );
}

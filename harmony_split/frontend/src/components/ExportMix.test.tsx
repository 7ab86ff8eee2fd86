import { fireEvent, render, screen } from "@testing-library/react";
import { vi } from "vitest";
import { ExportMix, mixFileName } from "./ExportMix";

// jsdom has no Web Audio: the SoundTouch node's module extends AudioWorkletNode when it is imported. These tests
// render the controls only; the audio path is tested in Chromium (tests/web/test_browser_studio.py).
vi.hoisted(() => {
  Object.assign(globalThis, { AudioWorkletNode: class {} });
});

const SOUND = { gains: [0, 1, 1], tempo: 100, semitones: 0 };

describe("mixFileName", () => {
  it("names the whole song's mix after the track, without its extension", () => {
    expect(mixFileName("my song.mp3", "wav")).toBe("my song_mix.wav");
    expect(mixFileName("v1.2 take.flac", "mp3")).toBe("v1.2 take_mix.mp3");
    expect(mixFileName(".wav", "wav")).toBe("track_mix.wav");
  });

  it("adds a loop's A and B in seconds to 0.01 s", () => {
    expect(mixFileName("song.wav", "wav", { start: 5.25, end: 10 })).toBe("song_mix_5.25-10.00s.wav");
    expect(mixFileName("song.wav", "mp3", { start: 0.004, end: 61.126 })).toBe("song_mix_0.00-61.13s.mp3");
  });
});

describe("ExportMix", () => {
  const common = { buffers: null, sound: SOUND, channels: 2, trackName: "song.wav", onError: () => undefined };

  it("offers the A-B loop as a range only once a loop is set", () => {
    const { rerender } = render(<ExportMix {...common} loop={null} />);
    const range = screen.getByRole("combobox", { name: "Export range" }) as HTMLSelectElement;
    expect(range.disabled).toBe(true);
    expect(range.value).toBe("song");
    rerender(<ExportMix {...common} loop={{ start: 1, end: 2 }} />);
    expect(range.disabled).toBe(false);
    fireEvent.change(range, { target: { value: "loop" } });
    expect(range.value).toBe("loop");
    rerender(<ExportMix {...common} loop={null} />); // the loop is cleared: the whole song again
    expect(range.value).toBe("song");
    expect(range.disabled).toBe(true);
  });

  it("cannot export before the stems are decoded", () => {
    render(<ExportMix {...common} loop={null} />);
    expect((screen.getByRole("button", { name: "Export mix" }) as HTMLButtonElement).disabled).toBe(true);
  });
});

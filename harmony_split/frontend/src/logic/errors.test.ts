import { describe, expect, it } from "vitest";
import { explained, plainError } from "./errors";

describe("plainError", () => {
  it("says an unreadable upload plainly and keeps the decoder's line as the detail", () => {
    const line =
      "lyrics.mp3: file: not readable audio (ffprobe could not read audio (Failed to read frame size: Could not seek to 1067.; Invalid argument))";
    expect(plainError(line)).toEqual({
      text: "lyrics.mp3: this file has no audio we can read. Is it a song file (mp3, wav, flac, m4a…)?",
      detail: line,
    });
  });

  it("leaves other messages as they are", () => {
    expect(plainError("big.mp3: 200.0 MB is over the 200 MB upload limit")).toEqual({
      text: "big.mp3: 200.0 MB is over the 200 MB upload limit",
      detail: null,
    });
  });
});

describe("explained", () => {
  it("names the song and what failed, with the reason after", () => {
    const e = explained("take.wav", "the tempo and pitch could not be changed", new DOMException("Unable to load a worklet's module.", "AbortError"));
    expect(e.message).toBe("take.wav: the tempo and pitch could not be changed (Unable to load a worklet's module.)");
    expect(explained("a.mp3", "playback could not start", "refused").message).toBe("a.mp3: playback could not start (refused)");
  });
});

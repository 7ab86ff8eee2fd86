import { describe, expect, it } from "vitest";
import { plainError } from "./errors";

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

import { DEFAULT_MAX_UPLOAD_MB, extensionOf, rejectionReason } from "./validation";

const file = (name: string, size: number, type = "audio/mpeg") => ({ name, size, type });

describe("rejectionReason", () => {
  it("accepts audio files up to the limit", () => {
    expect(rejectionReason(file("song.mp3", 5e6), 200)).toBeNull();
    expect(rejectionReason(file("Song.WAV", 200e6, "audio/wav"), 200)).toBeNull();
    expect(rejectionReason(file("take.flac", 1, ""), 200)).toBeNull();
    expect(rejectionReason(file("clip.m4a", 1, "video/mp4"), 200)).toBeNull();
    expect(rejectionReason(file("live.mp4", 1, "video/mp4"), 200)).toBeNull(); // the server reads its audio
  });

  it("refuses what the server does not read", () => {
    expect(rejectionReason(file("voice.opus", 10, "audio/ogg"), 200)).toMatch(/^voice\.opus: not an audio file/);
    expect(rejectionReason(file("clip.aac", 10, "audio/aac"), 200)).toMatch(/^clip\.aac: not an audio file/);
  });

  it("refuses other extensions, naming the file", () => {
    expect(rejectionReason(file("notes.txt", 10, "text/plain"), 200)).toMatch(/^notes\.txt: not an audio file/);
    expect(rejectionReason(file("mp3", 10, ""), 200)).toMatch(/^mp3: not an audio file/);
  });

  it("refuses a non-audio MIME type behind an audio extension", () => {
    const reason = rejectionReason(file("photo.mp3", 10, "image/png"), 200);
    expect(reason).toBe("photo.mp3: not an audio file (type image/png)");
  });

  it("refuses empty and oversize files, in the server's MB", () => {
    expect(rejectionReason(file("a.mp3", 0), 200)).toBe("a.mp3: empty file");
    expect(rejectionReason(file("big.mp3", 200e6 + 1), 200)).toBe("big.mp3: 200.0 MB is over the 200 MB upload limit");
    expect(rejectionReason(file("big.mp3", 3e6), 2)).toMatch(/over the 2 MB upload limit/);
    expect(DEFAULT_MAX_UPLOAD_MB).toBe(200);
  });

  it("has no size limit for a file separated on this device (nothing is uploaded)", () => {
    expect(rejectionReason(file("hi-res.wav", 900e6, "audio/wav"), null)).toBeNull();
    expect(rejectionReason(file("a.mp3", 0), null)).toBe("a.mp3: empty file");
    expect(rejectionReason(file("notes.txt", 10, "text/plain"), null)).toMatch(/^notes\.txt: not an audio file/);
  });

  it("reads extensions case-insensitively, ignoring leading dots", () => {
    expect(extensionOf("a.B.MP3")).toBe(".mp3");
    expect(extensionOf(".mp3")).toBe("");
  });
});

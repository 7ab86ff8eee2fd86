import { render, screen } from "@testing-library/react";
import type { TrackStatus as Status, Track } from "../api";

type Stage = NonNullable<Track["stage"]>;
import { TrackStatus } from "./TrackStatus";

type Extra = Partial<{ progress: number; queue_position: number; error: string; stage: Stage }>;
const track = (status: Status, extra: Extra = {}) => ({
  status,
  progress: extra.progress ?? 0,
  stage: extra.stage ?? (status === "running" ? "separating" : null),
  queue_position: extra.queue_position ?? null,
  error: extra.error ?? null,
});

describe("TrackStatus", () => {
  it("shows a queued track's position", () => {
    render(<TrackStatus track={track("queued", { queue_position: 3 })} />);
    expect(screen.getByText("Queued (position 3)")).toBeTruthy();
    expect(screen.queryByRole("progressbar")).toBeNull();
  });

  it("shows a running track's progress in words and as a bar", () => {
    render(<TrackStatus track={track("running", { progress: 0.42 })} />);
    expect(screen.getByText("Running 42%")).toBeTruthy();
    const bar = screen.getByRole("progressbar", { name: "Separation progress" });
    expect(bar.getAttribute("value")).toBe("0.42");
  });

  it("says when the model is loading or the song is being analysed", () => {
    const { rerender } = render(<TrackStatus track={track("running", { stage: "loading" })} />);
    expect(screen.getByText("Running: loading the model")).toBeTruthy();
    const bar = screen.getByRole("progressbar", { name: "Separation progress" });
    expect(bar.hasAttribute("value")).toBe(false); // indeterminate: nothing to measure yet
    rerender(<TrackStatus track={track("running", { stage: "analysing", progress: 0.99 })} />);
    expect(screen.getByText("Running: finding tempo and key")).toBeTruthy();
  });

  it("shows done, cancelled, and failed with its one-line reason", () => {
    const { rerender } = render(<TrackStatus track={track("done")} />);
    expect(screen.getByText("Done")).toBeTruthy();
    rerender(<TrackStatus track={track("cancelled")} />);
    expect(screen.getByText("Cancelled")).toBeTruthy();
    rerender(<TrackStatus track={track("failed", { error: "not audio: song.mp3" })} />);
    expect(screen.getByText("Failed: not audio: song.mp3")).toBeTruthy();
    rerender(<TrackStatus track={track("failed")} />);
    expect(screen.getByText("Failed")).toBeTruthy();
  });
});

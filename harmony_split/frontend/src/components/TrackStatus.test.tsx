import { render, screen } from "@testing-library/react";
import type { TrackStatus as Status } from "../api";
import { TrackStatus } from "./TrackStatus";

const track = (status: Status, extra: Partial<{ progress: number; queue_position: number; error: string }> = {}) => ({
  status,
  progress: extra.progress ?? 0,
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

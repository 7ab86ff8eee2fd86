import { fireEvent, render, screen, within } from "@testing-library/react";
import { useState } from "react";
import type { StemControls } from "../logic/mixer";
import type { StemDownload } from "../logic/stems";
import { StemStrip } from "./StemStrip";

function Harness({ onChange, download = { url: "/api/tracks/x/stems/vocals" } }: { onChange: (c: StemControls) => void; download?: StemDownload }) {
  const [controls, setControls] = useState<StemControls>({ volume: 1, muted: false, soloed: false });
  return (
    <StemStrip
      silence={controls.muted ? "Muted" : null}
      stem="vocals"
      buffer={null}
      controls={controls}
      position={0}
      download={download}
      onChange={(c) => {
        setControls(c);
        onChange(c);
      }}
      onSeek={() => undefined}
      loop={null}
      onLoop={() => undefined}
    />
  );
}

describe("StemStrip", () => {
  it("is a region named by its stem with Mute, Solo (aria-pressed), Volume and Download", () => {
    const changes: StemControls[] = [];
    render(<Harness onChange={(c) => changes.push(c)} />);
    const region = within(screen.getByRole("region", { name: "vocals" }));
    const mute = region.getByRole("button", { name: "Mute" });
    const solo = region.getByRole("button", { name: "Solo" });
    expect(mute.getAttribute("aria-pressed")).toBe("false");
    fireEvent.click(mute);
    expect(mute.getAttribute("aria-pressed")).toBe("true");
    fireEvent.click(solo);
    expect(solo.getAttribute("aria-pressed")).toBe("true");
    fireEvent.change(region.getByRole("slider", { name: "Volume" }), { target: { value: "0.3" } });
    expect(changes.at(-1)).toEqual({ volume: 0.3, muted: true, soloed: true });
    expect(region.getByRole("link", { name: "Download" }).getAttribute("href")).toBe("/api/tracks/x/stems/vocals");
  });

  it("makes a lazy download's URL when clicked, before the link is followed", () => {
    let made = 0;
    const url = () => {
      made += 1;
      return "blob:made-on-click";
    };
    render(<Harness onChange={() => undefined} download={{ url, filename: "song_vocals.wav" }} />);
    const link = within(screen.getByRole("region", { name: "vocals" })).getByRole("link", { name: "Download" });
    expect(made).toBe(0); // nothing encoded until asked for
    expect(link.getAttribute("download")).toBe("song_vocals.wav");
    const followed: string[] = [];
    const atDefaultAction = (event: MouseEvent) => {
      followed.push(link.getAttribute("href") ?? ""); // after React's handler: what the browser would follow
      event.preventDefault(); // jsdom does not navigate
    };
    document.addEventListener("click", atDefaultAction);
    fireEvent.click(link);
    document.removeEventListener("click", atDefaultAction);
    expect(made).toBe(1);
    expect(followed).toEqual(["blob:made-on-click"]);
  });

  it("toggles mute with M and solo with S while focused", () => {
    render(<Harness onChange={() => undefined} />);
    const regionElement = screen.getByRole("region", { name: "vocals" });
    const region = within(regionElement);
    regionElement.focus();
    fireEvent.keyDown(regionElement, { key: "m" });
    expect(region.getByRole("button", { name: "Mute" }).getAttribute("aria-pressed")).toBe("true");
    fireEvent.keyDown(regionElement, { key: "S" });
    expect(region.getByRole("button", { name: "Solo" }).getAttribute("aria-pressed")).toBe("true");
    fireEvent.keyDown(regionElement, { key: "m", ctrlKey: true });
    expect(region.getByRole("button", { name: "Mute" }).getAttribute("aria-pressed")).toBe("true");
  });
});

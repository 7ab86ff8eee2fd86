import { fireEvent, render, screen, within } from "@testing-library/react";
import { useState } from "react";
import type { StemControls } from "../logic/mixer";
import { StemStrip } from "./StemStrip";

function Harness({ onChange }: { onChange: (c: StemControls) => void }) {
  const [controls, setControls] = useState<StemControls>({ volume: 1, muted: false, soloed: false });
  return (
    <StemStrip
      silence={controls.muted ? "Muted" : null}
      stem="vocals"
      buffer={null}
      controls={controls}
      position={0}
      download={{ url: "/api/tracks/x/stems/vocals" }}
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

import { fireEvent, render, screen } from "@testing-library/react";
import { Transport, type TransportProps } from "./Transport";

function props(overrides: Partial<TransportProps> = {}): TransportProps {
  return {
    ready: true,
    playing: false,
    position: 65,
    duration: 200,
    audioState: "suspended",
    loop: null,
    looping: false,
    tempo: 100,
    semitones: 0,
    onToggle: () => undefined,
    onLoopToggle: () => undefined,
    onSetA: () => undefined,
    onSetB: () => undefined,
    onTempo: () => undefined,
    onPitch: () => undefined,
    ...overrides,
  };
}

describe("Transport", () => {
  it("names its controls and speaks the tempo and pitch", () => {
    render(<Transport {...props({ tempo: 75, semitones: 3 })} />);
    expect(screen.getByRole("button", { name: "Play" })).toBeTruthy();
    expect(screen.getByRole("timer", { name: "Time" }).textContent).toBe("1:05 / 3:20");
    const tempo = screen.getByRole("slider", { name: "Tempo" });
    expect([tempo.getAttribute("min"), tempo.getAttribute("max")]).toEqual(["50", "150"]);
    expect(tempo.getAttribute("aria-valuetext")).toBe("75 %");
    const pitch = screen.getByRole("slider", { name: "Pitch" });
    expect([pitch.getAttribute("min"), pitch.getAttribute("max")]).toEqual(["-6", "6"]);
    expect(pitch.getAttribute("aria-valuetext")).toBe("+3 semitones");
  });

  it("shows the loop, its toggle state, and hands on presses and slider moves", () => {
    const calls: string[] = [];
    render(
      <Transport
        {...props({
          loop: { start: 5, end: 10 },
          looping: true,
          onLoopToggle: () => calls.push("loop"),
          onSetA: () => calls.push("A"),
          onSetB: () => calls.push("B"),
          onTempo: (p) => calls.push(`tempo ${p}`),
          onPitch: (s) => calls.push(`pitch ${s}`),
        })}
      />,
    );
    const loop = screen.getByRole("button", { name: "Loop" });
    expect(loop.getAttribute("aria-pressed")).toBe("true");
    expect(screen.getByLabelText("Loop span").textContent).toBe("A 0:05 – B 0:10");
    fireEvent.click(loop);
    fireEvent.click(screen.getByRole("button", { name: "Set A" }));
    fireEvent.click(screen.getByRole("button", { name: "Set B" }));
    fireEvent.change(screen.getByRole("slider", { name: "Tempo" }), { target: { value: "60" } });
    fireEvent.change(screen.getByRole("slider", { name: "Pitch" }), { target: { value: "-2" } });
    expect(calls).toEqual(["loop", "A", "B", "tempo 60", "pitch -2"]);
  });

  it("disables playing and looping until the audio is decoded", () => {
    render(<Transport {...props({ ready: false })} />);
    expect(screen.getByRole("button", { name: "Play" }).hasAttribute("disabled")).toBe(true);
    expect(screen.getByRole("button", { name: "Loop" }).hasAttribute("disabled")).toBe(true);
    expect(screen.getByText("Loading audio…")).toBeTruthy();
  });
});

import { render } from "@testing-library/react";
import { MusicalFacts } from "./MusicalFacts";

describe("MusicalFacts", () => {
  it("shows tempo and key as two badges that read as one line", () => {
    const { container } = render(<MusicalFacts bpm={117.6} songKey="F# minor" />);
    const badges = [...container.querySelectorAll(".badge")].map((b) => b.textContent);
    expect(badges).toEqual(["118 BPM", "F# minor"]);
    expect(container.textContent).toBe("118 BPM · F# minor");
  });

  it("leaves out what is not known yet, and shows nothing when neither is", () => {
    expect(render(<MusicalFacts bpm={null} songKey="C major" />).container.textContent).toBe("C major");
    expect(render(<MusicalFacts bpm={null} songKey="" />).container.innerHTML).toBe("");
  });
});

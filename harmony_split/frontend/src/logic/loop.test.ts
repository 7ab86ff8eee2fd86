import { loopedPosition, loopStartOffset, makeLoop, MIN_LOOP_S, withEnd, withStart } from "./loop";

describe("A-B loop boundaries", () => {
  it("keeps A before B, swapping them", () => {
    expect(makeLoop(8, 3, 20)).toEqual({ start: 3, end: 8 });
  });

  it("clamps to the song", () => {
    expect(makeLoop(-2, 30, 20)).toEqual({ start: 0, end: 20 });
    expect(makeLoop(Number.NaN, 5, 20)).toEqual({ start: 0, end: 5 });
  });

  it("keeps the loop at least the minimum length, also at the song's end", () => {
    expect(makeLoop(4, 4, 20)).toEqual({ start: 4, end: 4 + MIN_LOOP_S });
    expect(makeLoop(20, 19.95, 20)).toEqual({ start: 20 - MIN_LOOP_S, end: 20 });
    expect(makeLoop(0, 0, 0.1)).toBeNull();
  });

  it("sets A and B from the playhead", () => {
    expect(withStart(null, 5, 20)).toEqual({ start: 5, end: 20 });
    expect(withEnd(null, 5, 20)).toEqual({ start: 0, end: 5 });
    expect(withEnd({ start: 5, end: 20 }, 9, 20)).toEqual({ start: 5, end: 9 });
    expect(withStart({ start: 5, end: 9 }, 12, 20)).toEqual({ start: 9, end: 12 }); // A past B: swapped
  });

  it("starts inside the loop, else at A", () => {
    const loop = { start: 5, end: 9 };
    expect(loopStartOffset(6, loop)).toBe(6);
    expect(loopStartOffset(9, loop)).toBe(5);
    expect(loopStartOffset(1, loop)).toBe(5);
  });

  it("wraps the position back to A past B", () => {
    const loop = { start: 5, end: 9 };
    expect(loopedPosition(6, 2, loop)).toBe(8);
    expect(loopedPosition(6, 3, loop)).toBe(5);
    expect(loopedPosition(6, 4.5, loop)).toBeCloseTo(6.5); // 10.5 s is 1.5 s into the second lap
    expect(loopedPosition(6, 11, loop)).toBeCloseTo(5); // three laps later, again at A
    expect(loopedPosition(6, -1, loop)).toBe(6);
  });
});

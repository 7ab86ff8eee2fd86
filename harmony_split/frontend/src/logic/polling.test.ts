import { act, renderHook } from "@testing-library/react";
import { MAX_DELAY_MS, MIN_DELAY_MS, nextPollDelay } from "./polling";
import { usePolling } from "./usePolling";

describe("nextPollDelay", () => {
  it("starts fast and backs off by 1.5 while nothing changes, up to the cap", () => {
    const delays: (number | null)[] = [];
    let delay: number | null = null;
    for (let i = 0; i < 10; i++) {
      delay = nextPollDelay(delay, i === 0, ["queued"]);
      delays.push(delay);
    }
    expect(delays.slice(0, 4)).toEqual([MIN_DELAY_MS, 1500, 2250, 3375]);
    expect(delays[9]).toBe(MAX_DELAY_MS);
  });

  it("snaps back to the shortest delay when something changed", () => {
    expect(nextPollDelay(8000, true, ["running"])).toBe(MIN_DELAY_MS);
  });

  it("stops when nothing is queued or running", () => {
    expect(nextPollDelay(1000, true, ["done", "failed", "cancelled"])).toBeNull();
    expect(nextPollDelay(null, false, [])).toBeNull();
  });
});

describe("usePolling", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("polls with growing delays while unchanged and stops once nothing is pending", async () => {
    const answers = [["queued"], ["queued"], ["queued"], ["done"]];
    let calls = 0;
    const load = () => Promise.resolve(answers[Math.min(calls++, answers.length - 1)]);
    const statuses = (v: string[]) => v;
    const onError = vi.fn();
    const { result } = renderHook(() => usePolling(load, statuses, onError));

    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(calls).toBe(1);
    await act(() => vi.advanceTimersByTimeAsync(999));
    expect(calls).toBe(1);
    await act(() => vi.advanceTimersByTimeAsync(1));
    expect(calls).toBe(2); // after 1 s; unchanged, so the next wait is 1.5 s
    await act(() => vi.advanceTimersByTimeAsync(1499));
    expect(calls).toBe(2);
    await act(() => vi.advanceTimersByTimeAsync(1));
    expect(calls).toBe(3); // then 2.25 s
    await act(() => vi.advanceTimersByTimeAsync(2250));
    expect(calls).toBe(4);
    expect(result.current.value).toEqual(["done"]);
    await act(() => vi.advanceTimersByTimeAsync(60000));
    expect(calls).toBe(4); // done: no more polls
    expect(onError).not.toHaveBeenCalled();
  });
});

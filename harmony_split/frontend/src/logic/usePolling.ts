// Keeps a value fresh by polling `load`, with the back-off of nextPollDelay: fast while things change,
// slower while they do not, and not at all once nothing is pending. refresh() polls now and restarts.
import { useCallback, useEffect, useRef, useState } from "react";
import { nextPollDelay } from "./polling";

export function usePolling<T>(
  load: () => Promise<T>,
  statusesOf: (value: T) => readonly string[],
  onError: (e: unknown) => void,
): { value: T | undefined; refresh: () => void } {
  const [value, setValue] = useState<T | undefined>(undefined);
  const timer = useRef<number | undefined>(undefined);
  const delay = useRef<number | null>(null);
  const last = useRef<string>("");
  const generation = useRef(0);

  const poll = useCallback(() => {
    const mine = generation.current;
    window.clearTimeout(timer.current);
    load()
      .then((answer) => {
        if (mine !== generation.current) {
          return;
        }
        const serialised = JSON.stringify(answer);
        const changed = serialised !== last.current;
        last.current = serialised;
        if (changed) {
          setValue(answer);
        }
        delay.current = nextPollDelay(delay.current, changed, statusesOf(answer));
        if (delay.current !== null) {
          timer.current = window.setTimeout(poll, delay.current);
        }
      })
      .catch((e: unknown) => {
        if (mine === generation.current) {
          onError(e);
        }
      });
  }, [load, statusesOf, onError]);

  const refresh = useCallback(() => {
    generation.current += 1;
    delay.current = null;
    poll();
  }, [poll]);

  useEffect(() => {
    refresh();
    return () => {
      generation.current += 1;
      window.clearTimeout(timer.current);
    };
  }, [refresh]);

  return { value, refresh };
}

// Values the page keeps across visits, in localStorage. Where storage is blocked (a privacy mode, a full quota),
// reads find nothing and writes last for this visit only.

/** The value stored under `key`, or null (none, or storage blocked). */
export function readStored(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Store `value` under `key`; nothing happens where storage is blocked or full. */
export function writeStored(key: string, value: string): void {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // blocked or full: the value lasts for this visit only
  }
}

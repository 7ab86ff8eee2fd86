// The "Separate on this device" choice, remembered across visits in localStorage.
const KEY = "harmony_split.separateOnDevice";

export function loadOnDevice(): boolean {
  try {
    return window.localStorage.getItem(KEY) === "1";
  } catch {
    return false; // storage blocked: the server, as before
  }
}

export function saveOnDevice(on: boolean): void {
  try {
    window.localStorage.setItem(KEY, on ? "1" : "0");
  } catch {
    // storage blocked: the choice lasts for this visit only
  }
}

// The "Separate on this device" choice, remembered across visits (logic/stored.ts); off where storage is blocked.
import { readStored, writeStored } from "../stored";

const KEY = "harmony_split.separateOnDevice";

export function loadOnDevice(): boolean {
  return readStored(KEY) === "1";
}

export function saveOnDevice(on: boolean): void {
  writeStored(KEY, on ? "1" : "0");
}

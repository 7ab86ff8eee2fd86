// Every keyboard shortcut of the app, as the shortcuts list (components/Shortcuts.tsx, opened with "?") shows it.
// The handlers live with what they control (components/Mixer.tsx, components/StemStrip.tsx); a shortcut added
// there is added here (tests/web/test_browser.py presses Space, the arrows, M and S and opens this list; test_browser_studio.py presses [ and ]).

export interface Shortcut {
  keys: readonly string[]; // as printed on the keyboard, e.g. ["Space"] or ["←", "→"]
  action: string;
  where: "Anywhere" | "Mixer" | "A focused stem";
}

export const SHORTCUTS: readonly Shortcut[] = [
  { keys: ["?"], action: "Show or hide this list", where: "Anywhere" },
  { keys: ["Esc"], action: "Close this list", where: "Anywhere" },
  { keys: ["Space"], action: "Play or pause", where: "Mixer" },
  { keys: ["←", "→"], action: "Back or forward 5 seconds", where: "Mixer" },
  { keys: ["["], action: "Set the loop's start (A) at the playhead", where: "Mixer" },
  { keys: ["]"], action: "Set the loop's end (B) at the playhead", where: "Mixer" },
  { keys: ["Tab"], action: "Move to the next stem or control", where: "Mixer" },
  { keys: ["M"], action: "Mute or unmute the stem", where: "A focused stem" },
  { keys: ["S"], action: "Solo the stem, or end its solo", where: "A focused stem" },
];

/** Whether a key event asks for the shortcuts list ("?", typed with Shift on most layouts), outside text fields. */
export function asksForShortcuts(event: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "altKey" | "target">):
  boolean {
  if (event.key !== "?" || event.ctrlKey || event.metaKey || event.altKey) {
    return false;
  }
  const target = event.target;
  return !(target instanceof HTMLElement && target.closest("input, textarea, select, [contenteditable]") !== null);
}

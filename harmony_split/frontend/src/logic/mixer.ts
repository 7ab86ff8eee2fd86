// The mixer's gain rule: each stem has a volume (0-1), a mute and a solo switch.
// Solo wins: when any stem is soloed, exactly the soloed stems sound (even a muted one), at their volume.
// With no solo, every stem that is not muted sounds at its volume.

export interface StemControls {
  volume: number;
  muted: boolean;
  soloed: boolean;
}

/** The linear gain of each stem, in the order given, each in [0, 1]. */
export function effectiveGains(stems: readonly StemControls[]): number[] {
  const anySolo = stems.some((s) => s.soloed);
  return stems.map((s) => {
    const audible = anySolo ? s.soloed : !s.muted;
    return audible ? Math.min(1, Math.max(0, s.volume)) : 0;
  });
}

/**
 * Why each stem is silent, in the order given (null where it sounds): a line the mixer shows on the stem.
 * @param names the stems' names; the mixture's mute explains itself (it starts muted so the stems play the song)
 */
export function silenceReasons(stems: readonly StemControls[], names: readonly string[]): (string | null)[] {
  const gains = effectiveGains(stems);
  const anySolo = stems.some((s) => s.soloed);
  return stems.map((s, i) => {
    if (gains[i] > 0) {
      return null;
    }
    if (anySolo && !s.soloed) {
      return "Silent while another stem is soloed";
    }
    if (s.muted && !anySolo) {
      return names[i] === "mixture"
        ? "Muted: the vocals and accompaniment play the song. Solo the mixture to compare."
        : "Muted";
    }
    return "Volume at zero";
  });
}

/** A volume (linear gain 0-1) in decibels, as a mixing desk labels it: "0.0 dB", "-6.0 dB", "-inf dB" at 0. */
export function volumeLabel(volume: number): string {
  if (volume <= 0) {
    return "-inf dB";
  }
  const db = 20 * Math.log10(Math.min(1, volume));
  return `${db > -0.05 ? "0.0" : db.toFixed(1)} dB`;
}

/** Seconds as m:ss (or h:mm:ss), rounded down; the transport's time display. */
export function formatTime(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

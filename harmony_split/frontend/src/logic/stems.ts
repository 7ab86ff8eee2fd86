// Where the mixer's stems come from: the server (a finished track's files) or the musician's device (buffers
// separated in the page, components/DeviceSeparation.tsx). The mixer plays and offers whatever a StemSource gives.
import { stemUrl, type StemName, type Track } from "../api";
import { sumOf } from "./buffers";
import { decodeAudio } from "./engine";

/** A stem's download: its URL, or a function that makes it when the musician first asks for it (a device stem's
 * WAV is encoded then, not when the separation ends: 106 MB per stem for a 10-minute song). */
export interface StemDownload {
  url: string | (() => string);
  filename?: string;
}

export interface StemSource {
  /** The stems' decoded audio, one buffer per name of `names`, all at one sample rate. */
  load(names: readonly StemName[]): Promise<AudioBuffer[]>;
  /** Where a stem is downloaded from, and under which file name (undefined: the server's). */
  download(stem: StemName): StemDownload;
  /** Seconds of audio, shown before the stems are loaded. */
  duration: number;
  /** The song's file name, as uploaded or chosen: names the exported mix. */
  name: string;
  /** The song's channels (1 or 2): the exported mix has as many. */
  channels: number;
  /** Under which key the mixer remembers its settings for this song (logic/practice.ts); undefined: not kept. */
  practiceKey?: string;
}

/** `"<name without extension>_<suffix>"`, as the server names downloads (storage.download_name), e.g.
 * `downloadName("song.mp3", "vocals.wav")` is `"song_vocals.wav"`; a name that is all extension gives "track". */
export function downloadName(name: string, suffix: string): string {
  const base = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : name;
  return `${base || "track"}_${suffix}`;
}

async function loadStem(track: Track, stem: StemName, rate: number): Promise<AudioBuffer> {
  const response = await fetch(stemUrl(track, stem), { credentials: "same-origin" });
  if (!response.ok) {
    throw new Error(`${track.name}: the ${stem} could not be loaded (${response.status})`);
  }
  const data = await response.arrayBuffer();
  try {
    return await decodeAudio(data, rate);
  } catch {
    throw new Error(`${track.name}: this browser cannot play the ${stem}`);
  }
}

/** A finished track's stems on the server. */
export function serverStems(track: Track): StemSource {
  const rate = track.sample_rate ?? 44100;
  return {
    duration: track.duration_s ?? 0,
    name: track.name,
    channels: track.channels ?? 2,
    practiceKey: `track:${track.id}`,
    download: (stem) => ({ url: stemUrl(track, stem) }),
    load: async (names) => {
      const loaded = await Promise.allSettled(names.map((stem) => loadStem(track, stem, rate)));
      const found = (stem: StemName) => {
        const result = loaded[names.indexOf(stem)];
        return result?.status === "fulfilled" ? result.value : null;
      };
      return names.map((stem, i) => {
        const result = loaded[i];
        if (result.status === "fulfilled") {
          return result.value;
        }
        // The mixture is the upload itself, which this browser may not read (Chromium decodes no AIFF); the
        // stems add up to it (the accompaniment is the mixture minus the vocals), so their sum stands in.
        const vocals = found("vocals");
        const accompaniment = found("accompaniment");
        if (stem === "mixture" && vocals && accompaniment) {
          return sumOf([vocals, accompaniment]);
        }
        throw result.reason;
      });
    },
  };
}

// Checks a file before it is uploaded: the browser refuses what the server would refuse anyway, with a
// message that names the file. The server still decodes every upload; this only spares a pointless transfer.

/** File name endings the service accepts: exactly Input/audio/probe.py's AUDIO_EXTENSIONS. */
export const AUDIO_EXTENSIONS = [".mp3", ".wav", ".flac", ".ogg", ".m4a", ".mp4", ".aiff", ".aif"];

/** The `accept` map for react-dropzone and the file input: MIME type -> extensions (an .mp4 is a video type,
 * though the service reads its audio). */
export const ACCEPT: Record<string, string[]> = { "audio/*": AUDIO_EXTENSIONS, "video/mp4": [".mp4"] };

/** Default upload limit in MB (10^6 bytes): the server's HARMONY_MAX_UPLOAD_MB default, until it announces its own. */
export const DEFAULT_MAX_UPLOAD_MB = 200;

/** The extension of `name`, lower case with its dot, or "" when it has none. */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? "" : name.slice(dot).toLowerCase();
}

/**
 * Why `file` cannot be uploaded, as one line naming it, or null when it may be.
 * @param maxMb the upload limit in MB (1 MB = 10^6 bytes, as the server counts)
 */
export function rejectionReason(
  file: { name: string; size: number; type: string },
  maxMb: number | null, // the upload limit, MB; null: none (the file stays on this device)
): string | null {
  if (!AUDIO_EXTENSIONS.includes(extensionOf(file.name))) {
    return `${file.name}: not an audio file (accepted: ${AUDIO_EXTENSIONS.join(", ")})`;
  }
  if (file.type !== "" && !file.type.startsWith("audio/") && file.type !== "video/mp4") {
    return `${file.name}: not an audio file (type ${file.type})`;
  }
  if (file.size === 0) {
    return `${file.name}: empty file`;
  }
  if (maxMb !== null && file.size > maxMb * 1e6) {
    const mb = (file.size / 1e6).toFixed(1);
    return `${file.name}: ${mb} MB is over the ${maxMb} MB upload limit`;
  }
  return null;
}

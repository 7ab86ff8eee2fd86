// Drop files anywhere on the start page or pick them with the "Upload audio" button. The browser refuses a wrong
// type or an oversize file before sending it (logic/validation.ts); the server's own 4xx message is shown too.
import { useEffect, useRef, useState, type ReactNode } from "react";
import { useDropzone, type FileRejection } from "react-dropzone";
import { getHealth, listModels, uploadTrack, type SeparatorModel, type Quality, type StemFormat } from "../api";
import { loadOnDevice, saveOnDevice } from "../logic/device/preference";
import type { DeviceModel } from "../logic/device/useDeviceSeparation";
import { ACCEPT, DEFAULT_MAX_UPLOAD_MB, rejectionReason } from "../logic/validation";
import { Choice, type Option } from "./Choice";
import { UploadIcon } from "./Icons";

/** The stem formats and qualities offered at upload, in a musician's words. */
const STEM_FORMATS: readonly Option<StemFormat>[] = [
  { value: "wav", label: "WAV (lossless)" },
  { value: "flac", label: "FLAC (lossless, smaller)" },
  { value: "mp3", label: "MP3 (smallest)" },
];
const QUALITIES: readonly Option<Quality>[] = [
  { value: "standard", label: "Standard (fastest)" },
  { value: "high", label: "High (slower)" },
];

interface Sending {
  key: number;
  name: string;
  fraction: number;
}

export function Upload({
  onUploaded,
  onDevice,
  onError,
  children,
}: {
  onUploaded: () => void;
  /** With "Separate on this device" on, a chosen file goes here instead of to the server. */
  onDevice: (file: File, model: DeviceModel) => void;
  onError: (e: unknown) => void;
  children: ReactNode;
}) {
  const [models, setModels] = useState<SeparatorModel[]>([]);
  const [model, setModel] = useState<string>("");
  const [format, setFormat] = useState<StemFormat>("wav");
  const [quality, setQuality] = useState<Quality>("standard");
  const [maxMb, setMaxMb] = useState(DEFAULT_MAX_UPLOAD_MB);
  const [sending, setSending] = useState<Sending[]>([]);
  const [onThisDevice, setOnThisDevice] = useState(loadOnDevice);
  const nextKey = useRef(0);

  useEffect(() => {
    listModels()
      .then((found) => {
        setModels(found);
        setModel((found.find((m) => m.default) ?? found[0])?.id ?? "");
      })
      .catch(onError);
    getHealth()
      .then((h) => {
        if (typeof h.max_upload_mb === "number" && h.max_upload_mb > 0) {
          setMaxMb(h.max_upload_mb);
        }
      })
      .catch(() => undefined); // no answer: keep the default limit (the server checks the size anyway)
  }, [onError]);

  const send = (file: File) => {
    const key = nextKey.current++;
    setSending((old) => [...old, { key, name: file.name, fraction: 0 }]);
    const progress = (fraction: number) =>
      setSending((old) => old.map((s) => (s.key === key ? { ...s, fraction } : s)));
    uploadTrack(file, model || null, format, quality, progress)
      .then(onUploaded)
      .catch(onError)
      .finally(() => setSending((old) => old.filter((s) => s.key !== key)));
  };

  const separateHere = (files: File[]) => {
    const chosen = models.find((m) => m.id === model);
    const [first, ...rest] = files;
    if (!first) {
      return;
    }
    if (!chosen) {
      onError(new Error(`${first.name}: not separated; the list of models has not arrived yet, try again in a moment`));
      return;
    }
    if (!chosen.device) {
      onError(new Error(`${first.name}: the model ${chosen.name} cannot run on this device (it has no ONNX export on the server); turn off "Separate on this device" to separate it on the server`));
      return;
    }
    rest.forEach((f) => onError(new Error(`${f.name}: not separated; this device separates one song at a time`)));
    onDevice(first, chosen.device);
  };

  const limit = onThisDevice ? null : maxMb; // separated on this device, nothing is uploaded: no upload limit
  const onDrop = (accepted: File[], rejected: FileRejection[]) => {
    for (const r of rejected) {
      onError(new Error(rejectionReason(r.file, limit) ?? `${r.file.name}: ${r.errors[0]?.message ?? "refused"}`));
    }
    if (onThisDevice) {
      separateHere(accepted);
    } else {
      accepted.forEach(send);
    }
  };

  const { getRootProps, getInputProps, isDragActive, open } = useDropzone({
    accept: ACCEPT,
    onDrop,
    noClick: true,
    noKeyboard: true,
    validator: (file: File) => {
      if (!(file instanceof File)) {
        // while files are dragged over the page, the browser shows only their kind and type (DataTransferItem,
        // no name or size): they are checked when they are dropped
        return null;
      }
      const reason = rejectionReason(file, limit);
      return reason ? { code: "harmony-refused", message: reason } : null;
    },
  });

  return (
    <div className={`dropzone${isDragActive ? " dropzone-active" : ""}`} {...getRootProps()}>
      <section className="card upload" aria-label="Upload">
        <input {...getInputProps()} aria-label="Audio files" data-testid="audio-files" />
        <div className="drop-target">
          <span className="drop-badge">
            <UploadIcon size={26} />
          </span>
          <p className="drop-title">{isDragActive ? "Let go to add the songs" : "Drop songs here"}</p>
          <p className="muted">to separate the vocals from the accompaniment, or</p>
          <button type="button" className="primary" onClick={open}>
            <UploadIcon />
            Upload audio
          </button>
          <p className="muted small">
            {limit === null ? "Audio files stay on this device, whatever their size." : `Audio files up to ${limit} MB.`}
          </p>
        </div>
        {sending.length > 0 && (
          <ul className="uploads">
            {sending.map((s) => (
              <li key={s.key}>
                <span>
                  Uploading {s.name}: {Math.round(s.fraction * 100)}%
                </span>
                <progress max={1} value={s.fraction} aria-label={`Upload of ${s.name}`} />
              </li>
            ))}
          </ul>
        )}
        <div className="upload-options">
          <label className="model-picker">
            Model
            <select value={model} onChange={(e) => setModel(e.target.value)} disabled={models.length === 0}>
              {models.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                  {m.default ? " (default)" : ""}
                </option>
              ))}
            </select>
          </label>
          <Choice className="model-picker" label="Quality" options={QUALITIES} value={quality} onChange={setQuality}
                  disabled={onThisDevice} />
          <Choice className="model-picker" label="Stems as" options={STEM_FORMATS} value={format} onChange={setFormat}
                  disabled={onThisDevice} />
          <label className="model-picker">
            <input
              type="checkbox"
              checked={onThisDevice}
              onChange={(e) => {
                setOnThisDevice(e.target.checked);
                saveOnDevice(e.target.checked);
              }}
            />
            Separate on this device
          </label>
          {onThisDevice && (
            <p className="muted small">
              On this device: the song is not uploaded; standard quality, stems as WAV. High quality needs the server.
            </p>
          )}
        </div>
      </section>
      {children}
    </div>
  );
}

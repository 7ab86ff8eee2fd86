// A song separated on this device (logic/device/): a progress bar while the worker runs, then the mixer with the
// stems and their WAV downloads, and how long it took.
import type { DeviceModel } from "../logic/device/useDeviceSeparation";
import { useDeviceSeparation } from "../logic/device/useDeviceSeparation";
import { Mixer } from "./Mixer";

export function DeviceSeparation({
  file,
  model,
  onError,
  onClose,
}: {
  file: File;
  model: DeviceModel;
  onError: (e: unknown) => void;
  onClose: () => void;
}) {
  const state = useDeviceSeparation(file, model, onError);
  return (
    <section className="device-separation" aria-label={`${file.name} on this device`}>
      <div className="card track-head">
        <h2>{file.name}</h2>
        {state.phase === "running" && (
          <p>
            <span>
              {state.stage} on this device: {Math.round(state.fraction * 100)}%
            </span>{" "}
            <progress max={1} value={state.fraction} aria-label={`Separation of ${file.name}`} />
          </p>
        )}
        {state.phase === "done" && (
          <p
            className="muted small"
            data-testid="device-run"
            data-seconds={state.info.seconds}
            data-threads={state.info.threads}
            data-backend={state.info.backend}
            data-duration={state.duration}
            data-model-bytes={state.info.modelBytes}
            data-model-seconds={state.info.modelSeconds}
            data-stages={JSON.stringify(state.info.stages)}
          >
            Separated on this device in {state.info.seconds.toFixed(1)} s ({state.info.backend.toUpperCase()},{" "}
            {state.info.threads} thread{state.info.threads === 1 ? "" : "s"}); nothing was uploaded.{" "}
            {state.info.modelBytes > 0
              ? `The model (${(state.info.modelBytes / 1e6).toFixed(1)} MB) was downloaded once; the browser keeps it.`
              : "The model came from the browser's cache."}
          </p>
        )}
        {state.phase === "failed" && <p className="muted small">Not separated.</p>}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {state.phase === "done" && <Mixer source={state.source} onError={onError} />}
    </section>
  );
}

// The U-Net's shapes and the plan of a whole-track separation in chunks: a port of the Python code that the
// server's separator runs (Models/nets/padding.py get_padding, Models/nets/shapes.py get_shapes,
// Models/separation/windows.py window_step, Models/separation/model_rate.py ModelRateStream's chunks), for the
// default mode only. Every size is a count of STFT bins or frames unless it says samples.

/** The model spec fields the browser needs (GET /api/models/ `device.spec`). Rates in Hz, sizes in samples/frames. */
export interface DeviceSpec {
  expected_sr: number;
  num_fft: number;
  num_hop: number;
  num_frames: number;
  num_layers: number;
}

export const MAX_WINDOW_FRAMES = 512; // widest inference window, output frames (windows.py MAX_WINDOW_FRAMES)
export const CHUNK_SECONDS = 30; // model-rate audio per chunk, s (options.py DEFAULT_CHUNK_SECONDS)
export const WINDOWS_PER_CALL = 2; // windows per model call (what the server's default batch gives the paper's model)

/** Input and output `[freq, time]` sizes of a U-Net of `numLayers` layers for a wanted output size (get_padding). */
export function getPadding(desired: readonly [number, number], numLayers: number): [[number, number], [number, number]] {
  if (numLayers < 1) {
    throw new Error(`Unet: num_layers must be >= 1, got ${numLayers}`);
  }
  const sizes = desired.map((wanted) => {
    const bottom = 2 + Math.max(0, Math.ceil((wanted - 2) / 2 ** numLayers));
    let sizeIn = bottom;
    let sizeOut = bottom;
    for (let i = 0; i < numLayers; i++) {
      sizeOut = 2 * sizeOut - 2;
      sizeIn = 2 * (sizeIn + 2);
    }
    return [sizeIn + 2, sizeOut] as const;
  });
  return [
    [sizes[0][0], sizes[1][0]],
    [sizes[0][1], sizes[1][1]],
  ];
}

/** The sizes of get_shapes that inference needs. */
export interface Shapes {
  numBins: number; // STFT bins, num_fft / 2 + 1
  inputFreq: number; // U-Net input rows (the bins plus zero rows)
  freqPadLo: number; // zero rows below bin 0
  contextFrames: number; // input frames read on each side of the predicted ones
}

export function getShapes(spec: DeviceSpec): Shapes {
  const numBins = spec.num_fft / 2 + 1;
  const [[inputFreq, inputTime], [outputFreq, outputTime]] = getPadding([numBins, spec.num_frames], spec.num_layers);
  return {
    numBins,
    inputFreq,
    freqPadLo: Math.floor((inputFreq - outputFreq) / 2),
    contextFrames: (inputTime - outputTime) / 2,
  };
}

/** A multiple of `grid` (at most about `limit`) that tiles `frames` with the fewest windows (window_step). */
export function windowStep(frames: number, grid: number, limit = MAX_WINDOW_FRAMES): number {
  const count = Math.max(1, Math.ceil(frames / Math.max(grid, limit)));
  return grid * Math.max(1, Math.ceil(frames / (count * grid)));
}

/** One chunk of a track: predicted frames `[g0, g1)`, whose audio gives the samples `[start, stop)`. */
export interface ChunkPlan {
  g0: number;
  g1: number;
  start: number; // model-rate samples
  stop: number;
}

/** How a track of `samples` model-rate samples is separated: windows, chunks and frame counts. */
export interface TrackPlan {
  shapes: Shapes;
  step: number; // output frames kept per window
  inputTime: number; // input frames per window
  numFrames: number; // STFT frames of the track, 1 + floor(samples / hop)
  chunks: ChunkPlan[];
}

export function planTrack(spec: DeviceSpec, samples: number, chunkSeconds = CHUNK_SECONDS): TrackPlan {
  const shapes = getShapes(spec);
  const hop = spec.num_hop;
  const grid = 2 ** spec.num_layers;
  const edge = Math.ceil(spec.num_fft / 2 / hop); // frames reaching a sample on either side
  const margin = grid * Math.ceil(edge / grid); // frames predicted past each chunk end, on the grid
  const chunkFrames = grid * Math.max(1, Math.round((chunkSeconds * spec.expected_sr) / hop / grid));
  const step = windowStep(chunkFrames + 2 * margin, grid);
  const [[, inputTime], [, outputTime]] = getPadding([shapes.numBins, step], spec.num_layers);
  if ((inputTime - outputTime) / 2 !== shapes.contextFrames) {
    throw new Error("the model's windows do not fit its spec");
  }
  const numFrames = 1 + Math.floor(samples / hop);
  const chunks: ChunkPlan[] = [];
  for (let f0 = 0; f0 * hop < samples; f0 += chunkFrames) {
    const f1 = f0 + chunkFrames;
    chunks.push({
      g0: Math.max(0, f0 - margin),
      g1: Math.min(f1 + margin, numFrames),
      start: f0 * hop,
      stop: Math.min(f1 * hop, samples),
    });
  }
  return { shapes, step, inputTime, numFrames, chunks };
}

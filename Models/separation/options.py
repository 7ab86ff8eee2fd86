"""Options of inference: which estimates, in what pieces, written how. No TensorFlow here, so the command-line
programs declare their flags (choices and defaults) from these without TensorFlow's start-up cost."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

ACCOMPANIMENT_MODES: tuple[str, ...] = ("residual", "model")
OUTPUT_SOURCES: tuple[str, ...] = ("vocals", "accompaniment")
MODES: tuple[str, ...] = ("direct", "mask")  # estimates of Models.separation.model_rate.ModelRateStream
VOCALS_BANDS: tuple[str, ...] = ("full", "model")  # see Models.separation.input_rate
EXTENSIONS: tuple[str, ...] = ("average", "top")  # the vocal mask above expected_sr / 2, see Models.separation.masks
# The SeparationOptions fields that decide how the estimates are turned into the output (add_band_arguments' flags)
BAND_FIELDS: tuple[str, ...] = ("vocals_band", "extension", "wiener")
DEFAULT_CHUNK_SECONDS = 30.0
MAX_WIENER = 10  # EM iterations; each costs about as much as the rest of the post-processing (benchmarks.quality)
# Inference compute precision -> the Keras mixed-precision policy the separator is built with.
PRECISIONS: dict[str, str] = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
# What --precision accepts: "auto" picks one of PRECISIONS from the hardware
# (Models.separation.precision.choose_precision).
PRECISION_CHOICES: tuple[str, ...] = ("auto", *PRECISIONS)


@dataclass(frozen=True)
class SeparationOptions:
    """How ``Models.separation.input_rate.separate``, ``Models.separation.files.separate_file`` and
    ``Models.separation.input_rate.InputRateStream`` apply a separator; the defaults are those of ``separate.py``."""

    # "residual": accompaniment = mixture - vocals at the input's full band (the outputs add up to the input);
    # "model": the model's own accompaniment estimate (band-limited to expected_sr / 2 like the vocals).
    accompaniment: str = "residual"
    # Model-rate audio processed at once, seconds; bounds memory. None: the whole track in one pass (in-memory
    # separation only). The result does not depend on it (up to float rounding of differently shaped calls).
    chunk_seconds: float | None = DEFAULT_CHUNK_SECONDS
    # Model work per call, in training-size patches; None: the spec's inference_batch_size.
    batch_size: int | None = None
    # "mask": soft masks on the mixture's STFT; "direct": estimated magnitude with the mixture's phase (paper).
    mode: str = "mask"
    # "full": vocals over the input's whole band, the model's mask extended above expected_sr / 2 by `extension`;
    # "model": vocals band-limited to expected_sr / 2 (the model's band). "model" is the default because it
    # measured better (museval vocal SDR at the native rate on the demo songs, benchmarks.quality; README).
    vocals_band: str = "model"
    extension: str = "average"  # the vocal gain above expected_sr / 2 per frame (Models.separation.masks.band_gain)
    wiener: int = 0  # EM iterations of norbert's multichannel Wiener filter ("mask" mode); 0: the soft masks alone
    # The rest is read by separate_file only.
    fmt: str = "wav"  # output container: "wav", "flac" or "mp3" (see Input.audio.stream.AudioWriter)
    bit_depth: int = 16  # output sample format: 16 or 24 (PCM) or 32 (float, wav only); ignored for mp3
    offset: float = 0.0  # start of the input excerpt to separate, seconds
    duration: float | None = None  # length of the excerpt, seconds; None: to the end of the input
    # Longest audio decoded from the input, seconds, whatever its header claims (AudioError past it); None: any.
    max_seconds: float | None = None
    max_channels: int | None = None  # most input channels accepted (AudioError over it); None: any
    max_sample_rate: int | None = None  # highest input sample rate accepted, Hz (AudioError over it); None: any

    def __post_init__(self) -> None:
        if self.accompaniment not in ACCOMPANIMENT_MODES:
            raise ValueError(f"accompaniment must be one of {ACCOMPANIMENT_MODES}, got {self.accompaniment!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.vocals_band not in VOCALS_BANDS:
            raise ValueError(f"vocals_band must be one of {VOCALS_BANDS}, got {self.vocals_band!r}")
        if self.extension not in EXTENSIONS:
            raise ValueError(f"extension must be one of {EXTENSIONS}, got {self.extension!r}")
        if not 0 <= self.wiener <= MAX_WIENER or (self.wiener and self.mode != "mask"):
            raise ValueError(f"wiener must be 0..{MAX_WIENER}, and 0 unless mode is 'mask'; got {self.wiener}")
        if self.chunk_seconds is not None and not self.chunk_seconds > 0:
            raise ValueError(f"chunk_seconds must be > 0 or None, got {self.chunk_seconds}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"max_seconds must be > 0 or None, got {self.max_seconds}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 or None, got {self.batch_size}")


def add_band_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Declares ``--vocals-band``, ``--extension`` and ``--wiener`` (``separate.py``, ``Evaluate.py``), with the
    defaults of :class:`SeparationOptions`."""
    defaults = SeparationOptions()
    parser.add_argument(
        "--vocals-band",
        default=defaults.vocals_band,
        choices=VOCALS_BANDS,
        help="full: vocals over the input's whole band, the model's mask extended above its band (4096 Hz); model: "
        f"vocals band-limited to the model's band (default: {defaults.vocals_band})",
    )
    parser.add_argument(
        "--extension",
        default=defaults.extension,
        choices=EXTENSIONS,
        help="with --vocals-band full, the vocal mask above the model's band: average (the mean of the mask per "
        f"frame, as Spleeter) or top (the mean of its top quarter) (default: {defaults.extension})",
    )
    parser.add_argument(
        "--wiener",
        type=int,
        default=defaults.wiener,
        choices=range(MAX_WIENER + 1),
        metavar="N",
        help=f"iterations of the multichannel Wiener filter (norbert, channels used jointly); 0: soft masks "
        f"only, 0-{MAX_WIENER} (default: {defaults.wiener})",
    )


def band_options(args: argparse.Namespace) -> dict[str, str | int]:
    """The :class:`SeparationOptions` fields of :func:`add_band_arguments`'s flags."""
    return {field: getattr(args, field) for field in BAND_FIELDS}

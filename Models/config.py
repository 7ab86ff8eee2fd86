"""The run configuration. ``Training.py``'s Sacred ``model_config`` is the user's interface: one flat dict whose
defaults (:data:`DEFAULTS`, every key with its meaning and unit) and named configs (:data:`NAMED_CONFIGS`) are
here, with the checks that refuse a bad key or value in one line (:func:`check_model_config`).

The checked dict is turned once into small frozen dataclasses, and library functions take the one they need:

* :class:`ModelSpec`: what a checkpoint needs to rebuild the network and apply it (``model_spec.json``);
* ``Input.config.DataConfig``: where the data are and how they are read;
* :class:`TrainConfig`: optimisation, early stopping, distribution, precision, checkpoint and log folders;
* :class:`EvalConfig`: the evaluation after each phase;
* :class:`ExperimentConfig`: the four together, from and back to the flat dict (``run.json`` holds that dict).

    config = ExperimentConfig.from_dict(resolved_model_config("demo", batch_size=8))
    config.spec.num_fft, config.train.batch_size, config.data.musdb_path, config.evaluation.results_dir
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from Input.config import DEMO_DATA_CONFIG, DataConfig, fields_from, fields_to_dict
from Utils import ConfigError

# Training.py's model_config: every key, its default and its meaning (units in the comments).
DEFAULTS: dict[str, Any] = {
    # --- paths -----------------------------------------------------------------------------------------
    "model_base_dir": "checkpoints",  # folder for checkpoints: <model_base_dir>/<id>_<phase>/<id>_<phase>-<step>
    "log_dir": "logs",  # folder for TensorBoard logs: <log_dir>/<id>_<phase>
    "musdb_path": "datasets/MUSDB18",  # MUSDB18 root holding train/ and test/
    "is_wav": False,  # False: MUSDB18 .stem.mp4 files; True: MUSDB18-HQ wav folders
    "moisesdb_path": "datasets/MoisesDB",  # optional MoisesDB root (unpaired data); skipped when absent or None
    "unsup_mixture_dirs": [],  # extra folders of unlabelled mixtures (any audio format, scanned recursively)
    "unsup_voice_dirs": [],  # extra folders of solo vocals (a cappellas)
    "unsup_accompaniment_dirs": [],  # extra folders of instrumentals
    "dataset_cache": "datasets/dataset.pkl",  # pickle of the partitions' Sample lists (rebuilt when stale)
    "dataset_loader": None,  # "module:function" returning the partition dict; replaces the MUSDB18 loader
    "num_labelled_tracks": None,  # None: all MUSDB18 train songs paired; n: only n paired, the rest unpaired
    "include_silent_voices": True,  # instrumental tracks give an all-zero voice and stay unlabelled mixtures
    "dsd100_path": "datasets/DSD100",  # DSD100 root (Mixtures/, Sources/); named config `paper`
    "medleydb_path": "datasets/MedleyDB",  # MedleyDB root (Audio/<track>/); named config `paper`
    "ccmixter_path": "datasets/CCMixter",  # CCMixter root (<song>/mix.wav, source-01/02.wav); config `paper`
    "ikala_path": "datasets/iKala",  # iKala root (Wavfile/*.wav: music left, voice right); config `paper`
    "audio_cache_dir": "datasets/cache",  # decoded audio (one .npy per file) and probes.pkl (unsup_* probes)
    "results_dir": "logs/results",  # evaluation pickles and box plots
    # --- signal ---------------------------------------------------------------------------------------
    "expected_sr": 8192,  # sample rate the model works at, Hz
    "mono_downmix": True,  # average channels to mono before the STFT
    "num_fft": 512,  # STFT window and FFT length, samples (257 frequency bins)
    "num_hop": 256,  # STFT hop, samples (31.25 ms at 8192 Hz)
    "cache_dtype": "float16",  # dtype of the decoded-audio cache ("float16" halves memory, "float32")
    # --- model ----------------------------------------------------------------------------------------
    "num_frames": 64,  # desired output frames per U-Net patch (the critic's time width)
    "num_layers": 4,  # U-Net down/up-sampling steps
    "num_initial_filters": 16,  # filters of the first conv; doubled at each down-step
    "output_activation": "relu",  # activation of the two 1x1 output convs (direct magnitude prediction)
    "critic_initial_filters": 32,  # filters of the critic's first conv; doubled at each stride-2 step
    # --- optimisation ---------------------------------------------------------------------------------
    "batch_size": 64,  # examples per optimiser step
    "init_sup_sep_lr": 5e-5,  # Adam learning rate of the separator, supervised phase
    "init_unsup_sep_lr": 5e-5,  # Adam learning rate of the separator, semi-supervised phase
    "init_disc_lr": 5e-5,  # Adam learning rate of the critics
    "alpha": 0.001,  # weight of the adversarial loss L_u in the separator loss
    "beta": 0.001,  # weight of the additive penalty (mixture - acc - voice)^2, linear magnitudes
    "lam": 10.0,  # WGAN-GP gradient-penalty weight
    "one_sided_gp": True,  # penalty max(|grad|-1, 0)^2 as the original code; False: (|grad|-1)^2
    "num_disc": 5,  # critic updates (per critic) before each separator update
    "unsup_gain_range": [0.2, 1.2],  # unlabelled excerpts scaled by U(low, high) each, as the original; None: off
    "init_from_supervised": False,  # start the semi-supervised phase from the best supervised model
    "epoch_it": 1000,  # optimiser steps per epoch (validation after each)
    "patience": 1,  # epochs without validation improvement before stopping (1 as in the paper)
    "max_epochs": 1000,  # hard limit on epochs per phase
    "seed": 1337,  # seed for data sampling and initialisation
    "strategy": "default",  # "default" (one device), "mirrored" (all local GPUs), "multi_worker" (from TF_CONFIG)
    "mixed_precision": False,  # False (float32), "mixed_float16" (GPU; dynamic loss scaling) or "mixed_bfloat16"
    "train_jit_compile": False,  # XLA-compile the training steps' gradient computations (False: faster on CPU)
    # --- input pipeline -------------------------------------------------------------------------------
    "num_workers": 2,  # parallel readers for decoding/caching and for excerpt cutting
    "cache_size": 64,  # examples buffered ahead of the training step
    "duration": 5,  # seconds; original code's decoding chunk. Kept for config compatibility (unused)
    "min_replacement_rate": 32,  # original code's queue refresh rate. Kept for config compatibility (unused)
    # --- logging & evaluation -------------------------------------------------------------------------
    "log_every": 10,  # steps between TensorBoard scalar writes
    "summary_seconds": 10.0,  # seconds of the first validation track shown as images/audio
    "inference_batch_size": 16,  # U-Net patches per model call when separating whole tracks
    "jit_compile": False,  # XLA-compile the separator's inference function (False: faster on CPU, see README)
    "evaluate": True,  # run the BSS evaluation on train_test after each phase
    "eval_window_seconds": None,  # BSS Eval window, s, median over windows per track; None: whole tracks
    "generate_demo": False,  # generate the demo songs into demo_path first (named config `demo`)
    "demo_path": "datasets/demo",  # where the demo songs go
}

# Training.py's named configs (`python Training.py with <name>`): the model_config keys each one changes.
NAMED_CONFIGS: dict[str, dict[str, Any]] = {
    # Generated demo songs and a small model, a newcomer's first run (`make demo`, a few minutes on 2 CPU cores):
    # it shows both phases and leaves a usable model, it does not converge. 2 epochs of 40 steps per phase; the
    # semi-supervised phase starts from the best supervised model (init_from_supervised), so that its few steps
    # (about 1.4 s each on a 2-core CPU, 3x a supervised one) refine a model instead of starting one from scratch.
    # The paper's from-scratch start stays the default and is `paper`'s.
    "demo": {**DEMO_DATA_CONFIG, "num_layers": 3, "num_initial_filters": 8, "num_frames": 32,
             "critic_initial_filters": 8, "num_disc": 2, "batch_size": 16, "init_sup_sep_lr": 1e-3,
             "init_unsup_sep_lr": 1e-3, "init_disc_lr": 1e-4, "epoch_it": 40, "patience": 2, "max_epochs": 2,
             "init_from_supervised": True},
    # The paper's experiment as the authors' original code runs it: DSD100's 50 Dev songs supervised; DSD100 Test
    # [:25] plus the middle thirds of MedleyDB, CCMixter and iKala validate; DSD100 Test [25:] plus their last
    # thirds test; their first thirds are the unlabelled data (Input/datasets/paper.py). The original's
    # hyperparameters and its augmentation, critic window and whole-track evaluation.
    "paper": {"dataset_loader": "Input.datasets.paper:load_paper", "moisesdb_path": None, "num_labelled_tracks": None,
              "include_silent_voices": True, "unsup_gain_range": [0.2, 1.2], "eval_window_seconds": None,
              "expected_sr": 8192, "mono_downmix": True, "num_fft": 512, "num_hop": 256, "num_frames": 64,
              "num_layers": 4, "batch_size": 64, "init_sup_sep_lr": 5e-5, "init_unsup_sep_lr": 5e-5,
              "init_disc_lr": 5e-5, "alpha": 0.001, "beta": 0.001, "lam": 10.0, "one_sided_gp": True, "num_disc": 5,
              "init_from_supervised": False, "epoch_it": 1000, "patience": 1},
    # The paper's claim on MUSDB18 alone: 50 training songs (DSD100's size) stay paired; the other 50 are split
    # (from `seed`, stably) into three disjoint groups giving the unpaired mixtures, accompaniments and voices.
    "scarce_labels": {"num_labelled_tracks": 50},
    # Read MUSDB18-HQ (wav) instead of the compressed stems.
    "musdb_hq": {"is_wav": True},
    # Paper ablation: adversarial loss only, without the additive mixture penalty (beta = 0).
    "no_additive_penalty": {"beta": 0.0},
    # The standard WGAN-GP penalty (|grad| - 1)^2 instead of the original code's one-sided one.
    "two_sided_gp": {"one_sided_gp": False},
}

# A stored run config (run.json, a legacy model_config.json) written before a key existed ran as these values say;
# any other key it lacks takes its default (ExperimentConfig.from_stored).
LEGACY_VALUES: dict[str, Any] = {"include_silent_voices": False, "unsup_gain_range": None, "moisesdb_path": None}


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean '<closest>'?)`` for the known name closest to ``name``, or nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_model_config(model_config: Mapping[str, Any]) -> None:
    """Refuse unknown ``model_config`` keys (with the closest known one) and values of the wrong type or sign.

    Raises:
        ConfigError: one line naming the key.
    """
    for key, value in model_config.items():
        if key not in DEFAULTS:
            raise ConfigError(f"unknown model_config key '{key}'{did_you_mean(key, DEFAULTS)}")
        check_value(key, value)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_optional(key: str, value: object) -> bool:
    """Checks of the keys whose ``None`` means "off" or "all"; False for the other keys."""
    if key == "unsup_gain_range":
        ok = value is None or (isinstance(value, (list, tuple)) and len(value) == 2
                               and all(_is_number(v) for v in value) and 0 <= value[0] <= value[1]
                               and value[1] > 0)
        expected = "null or [low, high] with 0 <= low <= high and high > 0 (0 would silence the unlabelled data)"
    elif key == "eval_window_seconds":
        ok, expected = value is None or (_is_number(value) and value > 0), "null (whole tracks) or seconds > 0"
    elif key == "num_labelled_tracks":
        ok = value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)
        expected = "null (all tracks paired) or an int >= 1"
    else:
        return False
    if not ok:
        raise ConfigError(f"model_config.{key} must be {expected}, got {value!r}")
    return True


# Sizes and counts that must be at least 1 (0 would fail later, in the middle of a run, or train nothing).
COUNTS = frozenset({"expected_sr", "num_fft", "num_hop", "num_frames", "num_layers", "num_initial_filters",
                    "critic_initial_filters", "batch_size", "num_disc", "epoch_it", "patience", "max_epochs",
                    "inference_batch_size"})


def check_value(key: str, value: object) -> None:
    """``value`` of the known key ``key`` must have the type of its default (ints count as floats; None stands for
    "off" where the default is a path or a loader), and numbers must not be negative, nor 0 for :data:`COUNTS`.

    Raises:
        ConfigError: one line naming the key.
    """
    default = DEFAULTS[key]
    if _check_optional(key, value) or default is None or key == "mixed_precision":  # mixed_precision: False or
        return  # a policy name
    expected: tuple[type, ...] = (float, int) if isinstance(default, float) else (type(default),)
    if isinstance(default, str):
        expected = (str, type(None))
    if not isinstance(value, expected) or (isinstance(value, bool) and not isinstance(default, bool)):
        names = " or ".join("null" if t is type(None) else t.__name__ for t in expected)
        raise ConfigError(f"model_config.{key} must be {names}, got {value!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low = 1 if key in COUNTS else 0
        if value < low:
            raise ConfigError(f"model_config.{key} must be >= {low}, got {value!r}")


def resolved_model_config(*named_configs: str, **updates: object) -> dict[str, Any]:
    """``model_config`` as ``python Training.py with <named_configs...> model_config.<key>=<value>...`` resolves
    it, checked, without running anything: tests and benchmarks derive their settings from this one set of defaults.

    Raises:
        ConfigError: an unknown key or a bad value (one line naming it); KeyError: an unknown named config.
    """
    model_config = copy.deepcopy(DEFAULTS)
    for name in named_configs:
        model_config.update(copy.deepcopy(NAMED_CONFIGS[name]))
    model_config.update(updates)
    check_model_config(model_config)
    return model_config


def _missing(config: Mapping[str, Any], keys: Iterable[str]) -> None:
    missing = [key for key in keys if key not in config]
    if missing:
        raise ConfigError(f"model_config: missing key(s) {', '.join(missing)}")


@dataclass(frozen=True)
class ModelSpec:
    """What a checkpoint needs to rebuild the separator (and its critics) and apply it to audio; written beside
    the checkpoints as ``model_spec.json``. Derived sizes: ``Models.nets.shapes.get_shapes(spec)`` (computed once)."""

    expected_sr: int  # sample rate the model works at, Hz
    num_fft: int  # STFT window and FFT length, samples
    num_hop: int  # STFT hop, samples
    num_frames: int  # output frames per training patch (sizes the U-Net; the critic's time width)
    num_layers: int  # U-Net down/up-sampling steps
    num_initial_filters: int  # U-Net filters of the first conv
    output_activation: str | None  # activation of the U-Net's output convs (None: linear)
    inference_batch_size: int  # U-Net patches per model call when separating whole tracks
    jit_compile: bool  # XLA-compile the inference function
    mono_downmix: bool  # the training audio was averaged to mono
    critic_initial_filters: int  # filters of the critics' first conv

    # Keys without which a stored spec cannot rebuild the same network and signal path; the others take their
    # defaults when absent (model_spec.json files written before they were added, run configs before jit_compile).
    REQUIRED: ClassVar[tuple[str, ...]] = ("expected_sr", "num_fft", "num_hop", "num_frames", "num_layers",
                                           "num_initial_filters", "output_activation")

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The ``model_config`` keys of a spec, in ``model_spec.json``'s order."""
        return tuple(field.name for field in fields(cls))

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> ModelSpec:
        """The spec keys of ``config`` (a ``model_config``, a stored run config or a ``model_spec.json``; other keys
        are ignored), checked as ``model_config`` values.

        Raises:
            ConfigError: one of :attr:`REQUIRED` is missing, or a value of the wrong type or sign (naming the key).
        """
        _missing(config, cls.REQUIRED)
        spec = {key: config.get(key, DEFAULTS[key]) for key in cls.keys()}
        for key, value in spec.items():
            check_value(key, value)
        return fields_from(cls, spec)

    def to_dict(self) -> dict[str, Any]:
        """``model_spec.json``: the spec's ``model_config`` keys."""
        return fields_to_dict(self)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, early stopping, distribution, precision and the checkpoint and log folders of both phases (each
    field is the ``model_config`` key of the same name; units in :data:`DEFAULTS`)."""

    model_base_dir: str  # checkpoints: <model_base_dir>/<id>_<phase>
    log_dir: str  # TensorBoard logs: <log_dir>/<id>_<phase>
    batch_size: int  # examples per optimiser step (global, over all replicas)
    init_sup_sep_lr: float  # Adam learning rates: separator (supervised, semi-supervised phase), critics
    init_unsup_sep_lr: float
    init_disc_lr: float
    alpha: float  # weight of the adversarial loss
    beta: float  # weight of the additive penalty
    lam: float  # gradient-penalty weight
    one_sided_gp: bool  # max(|grad| - 1, 0)^2 instead of (|grad| - 1)^2
    num_disc: int  # critic updates (per critic) per separator update
    unsup_gain_range: tuple[float, float] | None  # unlabelled excerpts scaled by U(low, high); None: off
    init_from_supervised: bool  # start the semi-supervised separator from the best supervised one
    epoch_it: int  # optimiser steps per epoch
    patience: int  # epochs without improvement before stopping
    max_epochs: int  # epochs per phase at most
    seed: int  # data sampling and initialisation (also the scarce-labels split and the demo songs)
    strategy: str | None  # tf.distribute strategy name; None: "default"
    mixed_precision: str | bool | None  # False/None (float32), "mixed_float16" or "mixed_bfloat16"
    train_jit_compile: bool  # XLA-compile the training steps' gradient computations
    log_every: int  # steps between TensorBoard scalar writes
    summary_seconds: float  # seconds of the first validation track shown as images/audio

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> TrainConfig:
        """The training keys of a flat ``model_config`` (all required; other keys are ignored)."""
        return fields_from(cls, config)


@dataclass(frozen=True)
class EvalConfig:
    """The evaluation of each phase's best checkpoint on ``train_test``."""

    results_dir: str  # evaluation pickles and box plots
    evaluate: bool  # run the BSS evaluation (the test loss is always computed)
    eval_window_seconds: float | None  # BSS Eval window, s; None: whole tracks

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> EvalConfig:
        """The evaluation keys of a flat ``model_config`` (all required; other keys are ignored)."""
        return fields_from(cls, config)


@dataclass(frozen=True)
class ExperimentConfig:
    """The whole run configuration, typed: built once from the flat ``model_config`` and written back to it for
    ``run.json``."""

    spec: ModelSpec
    data: DataConfig
    train: TrainConfig
    evaluation: EvalConfig

    @classmethod
    def from_dict(cls, model_config: Mapping[str, Any]) -> ExperimentConfig:
        """The dataclasses of a complete ``model_config`` (every key of :data:`DEFAULTS`).

        Raises:
            ConfigError: an unknown or missing key, or a bad value (one line naming the key).
        """
        check_model_config(model_config)
        _missing(model_config, DEFAULTS)
        return cls(ModelSpec.from_dict(model_config), DataConfig.from_dict(model_config),
                   TrainConfig.from_dict(model_config), EvalConfig.from_dict(model_config))

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> ExperimentConfig:
        """The dataclasses of a run config stored by this or older code (``run.json``, ``model_config.json``): keys
        added since it was written take :data:`LEGACY_VALUES` (how such runs ran), else their defaults; keys no
        longer known are ignored.

        Raises:
            ConfigError: a bad value (one line naming the key).
        """
        completed = {key: stored[key] if key in stored else LEGACY_VALUES.get(key, default)
                     for key, default in DEFAULTS.items()}
        return cls.from_dict(completed)

    def to_dict(self) -> dict[str, Any]:
        """The flat ``model_config`` (in :data:`DEFAULTS`' order): ``ExperimentConfig.from_dict(c.to_dict()) == c``."""
        parts = {**fields_to_dict(self.spec), **fields_to_dict(self.data), **fields_to_dict(self.train),
                 **fields_to_dict(self.evaluation)}
        return {key: parts[key] for key in DEFAULTS}

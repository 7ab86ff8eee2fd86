"""Sacred experiment: supervised training, then semi-supervised adversarial training, each with validation-based
early stopping, then a BSS evaluation of both on the test partition.

    python Training.py                                   # MUSDB18 in datasets/MUSDB18
    python Training.py with demo                         # generated demo songs, a few minutes on a CPU
    python Training.py with paper                        # the paper's experiment (DSD100, MedleyDB, CCMixter, iKala)
    python Training.py with scarce_labels                # the paper's claim on MUSDB18 alone
    python Training.py with model_config.batch_size=16 model_config.alpha=0.01
    python Training.py with resume=checkpoints/542621_semisup    # continue an interrupted run exactly
"""

from __future__ import annotations

import difflib
import logging
import os
import random
import sys
from collections.abc import Iterable

from sacred import SETTINGS, Experiment
from sacred.observers import FileStorageObserver
from sacred.utils import ConfigAddedError, NamedConfigNotFoundError, SacredError, apply_backspaces_and_linefeeds

from Input.synth.generate import DEMO_DATA_CONFIG
from Utils import ConfigError, WriteError, one_line, run_cli

# TensorFlow is imported inside the functions below: worker processes that re-import this script (the demo-song
# generator's spawn pool) then start in a fraction of a second, and the C++ start-up chatter is switched off first.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.keras is tf-keras; Keras 3 is never loaded

# Capture output at the Python level: the default file-descriptor tee stalls for a minute at exit with
# TensorFlow's threads alive. Progress bars are reduced to their final state in the stored output.
SETTINGS.CAPTURE_MODE = "sys"
ex = Experiment("Adversarial_Source_Separation")
ex.captured_out_filter = apply_backspaces_and_linefeeds
ex.observers.append(FileStorageObserver("logs/sacred"))
# An interrupt or a user error is reported in one line; Sacred's own "Aborted/Failed after ..." would be a second.
logging.getLogger(ex.path).addFilter(lambda record: not str(record.msg).startswith(("Aborted after", "Failed after")))
logger = logging.getLogger("Training")


@ex.config
def cfg():
    model_config = {
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
    experiment_id = random.randint(0, 999999)  # names the checkpoint and log folders
    resume = None  # a run's phase folder (or a checkpoint in it): continue that run with its own config and id


@ex.named_config
def demo():
    # Generated demo songs and a small model: the whole run takes a few minutes on 2 CPU cores.
    model_config = {
        **DEMO_DATA_CONFIG,
        "num_layers": 3,
        "num_initial_filters": 8,
        "num_frames": 32,
        "critic_initial_filters": 8,
        "num_disc": 2,
        "batch_size": 16,
        "init_sup_sep_lr": 1e-3,
        "init_unsup_sep_lr": 1e-3,
        "init_disc_lr": 1e-4,
        "epoch_it": 100,
        "patience": 2,
        "max_epochs": 5,
    }


@ex.named_config
def paper():
    # The paper's experiment as the authors' original code runs it: DSD100's 50 Dev songs supervised; DSD100 Test
    # [:25] plus the middle thirds of MedleyDB, CCMixter and iKala validate; DSD100 Test [25:] plus their last
    # thirds test; their first thirds are the unlabelled data (Input/datasets/paper.py). The original's
    # hyperparameters and its augmentation, critic window and whole-track evaluation.
    model_config = {
        "dataset_loader": "Input.datasets.paper:load_paper",
        "moisesdb_path": None,
        "num_labelled_tracks": None,
        "include_silent_voices": True,
        "unsup_gain_range": [0.2, 1.2],
        "eval_window_seconds": None,
        "expected_sr": 8192,
        "mono_downmix": True,
        "num_fft": 512,
        "num_hop": 256,
        "num_frames": 64,
        "num_layers": 4,
        "batch_size": 64,
        "init_sup_sep_lr": 5e-5,
        "init_unsup_sep_lr": 5e-5,
        "init_disc_lr": 5e-5,
        "alpha": 0.001,
        "beta": 0.001,
        "lam": 10.0,
        "one_sided_gp": True,
        "num_disc": 5,
        "init_from_supervised": False,
        "epoch_it": 1000,
        "patience": 1,
    }


@ex.named_config
def scarce_labels():
    # The paper's claim on MUSDB18 alone: 50 training songs (DSD100's size) stay paired; the other 50 are split
    # (from `seed`, stably) into three disjoint groups giving the unpaired mixtures, accompaniments and voices.
    model_config = {"num_labelled_tracks": 50}


@ex.named_config
def musdb_hq():
    # Read MUSDB18-HQ (wav) instead of the compressed stems.
    model_config = {"is_wav": True}


@ex.named_config
def no_additive_penalty():
    # Paper ablation: adversarial loss only, without the additive mixture penalty (beta = 0).
    model_config = {"beta": 0.0}


@ex.named_config
def two_sided_gp():
    # The standard WGAN-GP penalty (|grad| - 1)^2 instead of the original code's one-sided one.
    model_config = {"one_sided_gp": False}


def resolved_model_config(*named_configs: str, **updates: object) -> dict:
    """``model_config`` as ``python Training.py with <named_configs...> model_config.<key>=<value>...`` resolves
    it, without running anything: tests and benchmarks derive their settings from this one set of defaults."""
    model_config = dict(cfg()["model_config"])
    for name in named_configs:
        model_config.update(ex.named_configs[name]()["model_config"])
    unknown = sorted(set(updates) - set(model_config))
    if unknown:
        raise KeyError(f"unknown model_config keys {unknown}")
    return {**model_config, **updates}


@ex.config_hook
def _check_model_config(config: dict, command_name: str, logger: logging.Logger) -> dict:
    """Refuse unknown ``model_config`` keys (with the closest known one) and values of the wrong type or sign,
    before any work."""
    defaults = cfg()["model_config"]
    for key, value in config["model_config"].items():
        if key not in defaults:
            raise ConfigError(f"unknown model_config key '{key}'{_hint(key, defaults)}")
        _check_value(key, value, defaults[key])
    return {}


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_optional(key: str, value: object) -> bool:
    """Checks of the keys whose ``None`` means "off" or "all"; False for the other keys."""
    if key == "unsup_gain_range":
        ok = value is None or (isinstance(value, (list, tuple)) and len(value) == 2
                               and all(_is_number(v) for v in value) and 0 <= value[0] <= value[1])
        expected = "null or [low, high] with 0 <= low <= high"
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


def _check_value(key: str, value: object, default: object) -> None:
    """``value`` must have the type of ``default`` (ints count as floats; None stands for "off" where the default
    is a path or a loader), and numbers must not be negative."""
    if _check_optional(key, value) or default is None or key == "mixed_precision":  # mixed_precision: False or
        return  # a policy name
    expected: tuple[type, ...] = (float, int) if isinstance(default, float) else (type(default),)
    if isinstance(default, str):
        expected = (str, type(None))
    if not isinstance(value, expected) or (isinstance(value, bool) and not isinstance(default, bool)):
        names = " or ".join("null" if t is type(None) else t.__name__ for t in expected)
        raise ConfigError(f"model_config.{key} must be {names}, got {value!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise ConfigError(f"model_config.{key} must be >= 0, got {value!r}")


def _seed_everything(seed: int) -> None:
    import numpy as np
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)


@ex.main
def run(model_config: dict, experiment_id: int, resume: str | None, _run) -> dict:
    """The whole run: dataset, supervised phase, semi-supervised phase, evaluation of both."""
    from Utils import import_tensorflow, setup_logging

    setup_logging()
    import_tensorflow()
    from Models.training.checkpoints import CheckpointSaveError
    from Models.training.experiment import compact_results, resume_point, run_experiment

    if resume:  # the interrupted run's own config and id, whatever this command line's defaults are
        experiment_id, model_config = resume_point(resume)
        _log_resumed_config(model_config, experiment_id, _run)
    _seed_everything(model_config["seed"])
    try:
        return compact_results(run_experiment(model_config, experiment_id, bool(resume), _run))
    except CheckpointSaveError as err:  # e.g. a full disk: make room, then continue where the run stopped
        raise WriteError(f"{err}; resume with: python Training.py with resume={err.folder}") from None


def _log_resumed_config(model_config: dict, experiment_id: int | str, _run) -> None:
    _run.info["resumed"] = {"experiment_id": experiment_id, "model_config": model_config}
    logger.info("resuming run %s with its stored configuration", experiment_id)


def main(argv: list[str] | None = None) -> int:
    """Run the experiment from the command line (``argv`` as ``sys.argv``); returns the exit status.

    Errors the user can fix end in one line with their ``Utils.EXIT_STATUS`` (Sacred's own configuration errors,
    such as a misspelt named config, count as config errors); an interrupt ends with one line and 130/143.
    """
    return run_cli(lambda: _run_commandline(list(sys.argv if argv is None else argv)))


def _run_commandline(argv: list[str]) -> int:
    if not {"-d", "--debug"} & set(argv):  # Sacred then re-raises errors instead of printing their traceback
        argv.append("--debug")
    try:
        ex.run_commandline(argv)
    except SacredError as err:
        raise ConfigError(_sacred_message(err)) from None
    except KeyboardInterrupt as err:  # Models.training.loop.TrainingInterrupted names the folder that resumes
        if getattr(err, "folder", None) is None:
            print("interrupted outside a training phase; finished phases are kept (resume=<their folder> skips them)",
                  file=sys.stderr)
            return 130
        print(f"{err}; resume with: python Training.py with resume={err.folder}", file=sys.stderr)
        return err.exit_status
    return 0


def _sacred_message(err: SacredError) -> str:
    """One line for Sacred's configuration errors, with the closest known name where there is one."""
    if isinstance(err, NamedConfigNotFoundError):
        name = str(err).split('"')[1]
        return f"unknown named config '{name}'{_hint(name, ex.named_configs)}; named configs: " \
               f"{', '.join(ex.named_configs)}"
    if isinstance(err, ConfigAddedError):
        name = str(next(iter(err.__conflicting_configs__)))
        return f"unknown config entry '{name}'{_hint(name, [*cfg(), 'seed'])}"
    return one_line(err)


def _hint(name: str, known: Iterable[str]) -> str:
    """`` (did you mean '<closest>'?)`` for the known name closest to ``name``, or nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


if __name__ == "__main__":
    sys.exit(main())

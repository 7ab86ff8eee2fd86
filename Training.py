"""Sacred experiment: supervised training, then semi-supervised adversarial training, each with validation-based
early stopping, then a BSS evaluation of both on the test partition.

    python Training.py                                   # MUSDB18 in datasets/MUSDB18
    python Training.py with demo                         # generated demo songs, about 4 minutes on 2 CPU cores
    python Training.py with paper                        # the paper's experiment (DSD100, MedleyDB, CCMixter, iKala)
    python Training.py with scarce_labels                # the paper's claim on MUSDB18 alone
    python Training.py with model_config.batch_size=16 model_config.alpha=0.01
    python Training.py with resume=checkpoints/542621_semisup    # continue an interrupted run exactly
"""

from __future__ import annotations

import logging
import os
import random
import sys

from sacred import SETTINGS, Experiment
from sacred.observers import FileStorageObserver
from sacred.utils import ConfigAddedError, NamedConfigNotFoundError, SacredError, apply_backspaces_and_linefeeds

from Models.config import NAMED_CONFIGS, ExperimentConfig, check_model_config, did_you_mean, resolved_model_config
from Utils import EXIT_STATUS, ConfigError, WriteError, interrupts_raise, one_line, run_cli

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
    model_config = resolved_model_config()  # the flat defaults, every key with its meaning and unit: Models/config.py
    experiment_id = random.randint(0, 999999)  # names the checkpoint and log folders
    resume = None  # a run's phase folder (or a checkpoint in it): continue that run with its own config and id


# Named configs (`with demo`, `with paper`, ...): the keys each changes, and why, are in Models/config.py.
for _name, _updates in NAMED_CONFIGS.items():
    ex.add_named_config(_name, {"model_config": _updates})


@ex.config_hook
def _check_model_config(config: dict, command_name: str, logger: logging.Logger) -> dict:
    """Refuse unknown ``model_config`` keys (with the closest known one) and values of the wrong type or sign,
    before any work (``Models.config.check_model_config``)."""
    check_model_config(config["model_config"])
    return {}


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
        experiment_id, config = resume_point(resume)
        _log_resumed_config(config, experiment_id, _run)
    else:
        config = ExperimentConfig.from_dict(model_config)
    _seed_everything(config.train.seed)
    try:
        return compact_results(run_experiment(config, experiment_id, bool(resume), _run))
    except CheckpointSaveError as err:  # e.g. a full disk: make room, then continue where the run stopped
        raise WriteError(f"{err}; resume with: python Training.py with resume={err.folder}") from None


def _log_resumed_config(config: ExperimentConfig, experiment_id: int | str, _run) -> None:
    _run.info["resumed"] = {"experiment_id": experiment_id, "model_config": config.to_dict()}
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
        with interrupts_raise():  # SIGTERM stops as Ctrl-C does, outside the training loop too
            ex.run_commandline(argv)
    except SacredError as err:
        raise ConfigError(_sacred_message(err)) from None
    except KeyboardInterrupt as err:
        # Models.training.loop.TrainingInterrupted (in a phase) and Models.training.experiment.RunInterrupted
        # (around the phases) name the folder that resumes; a bare interrupt came before the run began.
        folder = getattr(err, "folder", None)
        said = one_line(err) or "interrupted before the run began"
        if folder is None:
            print(f"{said}; no phase has finished yet: run the same command again", file=sys.stderr)
        else:
            print(f"{said}; resume with: python Training.py with resume={folder}", file=sys.stderr)
        return getattr(err, "exit_status", EXIT_STATUS["interrupted"])
    return 0


def _sacred_message(err: SacredError) -> str:
    """One line for Sacred's configuration errors, with the closest known name where there is one."""
    if isinstance(err, NamedConfigNotFoundError):
        name = str(err).split('"')[1]
        return f"unknown named config '{name}'{did_you_mean(name, ex.named_configs)}; named configs: " \
               f"{', '.join(ex.named_configs)}"
    if isinstance(err, ConfigAddedError):
        name = str(next(iter(err.__conflicting_configs__)))
        return f"unknown config entry '{name}'{did_you_mean(name, [*cfg(), 'seed'])}"
    return one_line(err)


if __name__ == "__main__":
    sys.exit(main())

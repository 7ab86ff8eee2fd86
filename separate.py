"""Separate songs into vocals and accompaniment with a trained model.

    python separate.py --input song.mp3                  # newest checkpoint under checkpoints/ -> separated/
    python separate.py --input album/ live.m4a --output out --format flac --bit-depth 24
    python separate.py --input song.wav --checkpoint checkpoints/542621_sup --accompaniment model
    python separate.py --input song.wav --wiener 1 --vocals-band full  # Wiener filter; vocals above 4096 Hz too
    python separate.py --input song.wav --checkpoint voice.onnx        # onnxruntime alone, no TensorFlow

For each input ``<name>.<ext>`` the output folder receives ``<name>_vocals.<format>``,
``<name>_accompaniment.<format>`` and a copy of the input. Files found in a folder keep their sub-folder below
the output folder. Outputs have the input's sample rate, channel count and length (see ``Models.separation.input_rate``
for how the model, which works at ``expected_sr`` mono, is applied). Exit status: 0 if every input was
separated (or skipped because its outputs exist), otherwise the ``Utils.EXIT_STATUS`` of the first problem
(4: an input could not be read, 6: an output could not be written, 5: no usable checkpoint, 2: bad options).

``--engine`` chooses what runs the network (``Models.api.choose_engine``): ``tf`` (TensorFlow, a checkpoint) or
``onnx`` (onnxruntime: the checkpoint's ``.onnx`` export beside it, or an ``.onnx`` file; TensorFlow is not
imported). ``auto`` takes onnx for an ``.onnx`` file, for a checkpoint with its export, or when TensorFlow is not
installed (TensorFlow for ``--precision bfloat16/float16``). Every other option works with both.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path

from Models.api import ENGINES, Separator, choose_engine
from Models.separation.options import (
    ACCOMPANIMENT_MODES,
    PRECISION_CHOICES,
    SeparationOptions,
    add_band_arguments,
    band_options,
)
from Utils import EXIT_STATUS, ConfigError, run_cli

logger = logging.getLogger("separate")

DEFAULTS = SeparationOptions()  # the flags' defaults
NO_CHECKPOINT = (
    "no checkpoint found under checkpoints/: train one with `python Training.py with demo` "
    "(a few minutes on a CPU) or pass --checkpoint PATH"
)


def get_parser() -> argparse.ArgumentParser:
    """Command-line options of ``python separate.py``."""
    p = argparse.ArgumentParser(
        description="Separate vocals and accompaniment of songs with a trained model."
    )
    p.add_argument(
        "--input",
        nargs="+",
        required=True,
        metavar="PATH",
        help="audio files (wav, flac, ogg, aiff, mp3, m4a, mp4) and/or folders, searched recursively",
    )
    p.add_argument("--output", default="separated", metavar="DIR", help="output folder (default: separated)")
    p.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="checkpoint prefix (checkpoints/<id>_<phase>/<id>_<phase>-"
        "<step>), run folder or .onnx file; default: newest under checkpoints/",
    )
    p.add_argument(
        "--engine",
        default="auto",
        choices=ENGINES,
        help="what runs the network: tf (TensorFlow), onnx (onnxruntime: the checkpoint's .onnx export or the "
        ".onnx file, no TensorFlow), auto (default: onnx when there is an ONNX file or TensorFlow is missing)",
    )
    p.add_argument(
        "--format", default=DEFAULTS.fmt, choices=("wav", "flac", "mp3"), help="output format (default: wav)"
    )
    p.add_argument(
        "--bit-depth",
        type=int,
        default=DEFAULTS.bit_depth,
        choices=(16, 24, 32),
        help="output sample format: 16/24-bit PCM or 32-bit float (wav only); ignored for mp3",
    )
    p.add_argument(
        "--accompaniment",
        default=DEFAULTS.accompaniment,
        choices=ACCOMPANIMENT_MODES,
        help="residual: mixture minus vocals at full band (default); model: the model's estimate",
    )
    add_band_arguments(p)
    p.add_argument(
        "--offset", type=float, default=DEFAULTS.offset, metavar="SECONDS", help="start of the part to separate"
    )
    p.add_argument(
        "--duration", type=float, metavar="SECONDS", help="length of the part to separate (default: all)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (default: skip them)")
    p.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="model patches per call (default: the checkpoint's inference_batch_size)",
    )
    p.add_argument(
        "--chunk-seconds",
        type=float,
        default=DEFAULTS.chunk_seconds,
        metavar="SECONDS",
        help=f"audio processed at once; bounds memory for long files (default: {DEFAULTS.chunk_seconds:g})",
    )
    p.add_argument(
        "--precision",
        default="auto",
        choices=PRECISION_CHOICES,
        help="model arithmetic: auto (default: bfloat16 on CPUs with AVX512_BF16 or AMX, where it is ~1.7x "
        "faster, else float32; the log says which), float32, bfloat16, float16 (GPUs); 16-bit estimates differ "
        "by ~0.5%% of the log-magnitude range",
    )
    p.add_argument("--cpu", action="store_true", help="run on the CPU even when a GPU is available")
    return p


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.format == "flac" and args.bit_depth == 32:
        parser.error("--bit-depth 32 (float) needs --format wav; FLAC stores 16 or 24 bits")
    if args.offset < 0:
        parser.error("--offset must be >= 0")
    if args.duration is not None and args.duration <= 0:
        parser.error("--duration must be > 0")
    if args.chunk_seconds <= 0:
        parser.error("--chunk-seconds must be > 0")
    if args.batch_size is not None and args.batch_size < 1:
        parser.error("--batch-size must be >= 1")


def output_problem(output: Path) -> str | None:
    """Why ``output`` cannot be the output folder (it, or the nearest existing path above it, is a file)."""
    for folder in (output, *output.parents):
        if folder.exists():
            if folder.is_dir():
                return None
            where = "" if folder == output else f": {folder}"
            return f"output folder {output}{where} is a file"
    return None


def collect_inputs(paths: list[str], errors: list[str], output: Path | None = None) -> list[tuple[Path, Path]]:
    """``(file, sub-folder of the output)`` for every input; problems are appended to ``errors``. A folder's files
    inside ``output`` (``--input . --output separated``) are earlier results, not songs: they are left out."""
    from Input.audio.files import find_audio_files

    found: dict[Path, Path] = {}
    results = output.resolve() if output is not None else None
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files = find_audio_files([path])
            ours = [f for f in files if results is not None and results in f.resolve().parents]
            if ours:
                logger.info("%s: %d file(s) in the output folder %s left out", path, len(ours), output)
            if not files or len(ours) == len(files):
                errors.append(f"{path}: folder holds no audio files" + (" besides earlier results" if ours else ""))
            for file in files:
                if file not in ours:
                    found.setdefault(file, file.parent.relative_to(path))
        elif path.exists():
            found.setdefault(path, Path())
        else:
            errors.append(f"{path}: no such file or directory")
    return list(found.items())


def _unique_names(inputs: list[tuple[Path, Path]]) -> list[str]:
    """A base name per input, unique within its output sub-folder: the file's stem; with its extension when two
    share it (``song.wav``, ``song.mp3``: ``song_wav``, ``song_mp3``); then with its folder's name (``a/song.wav``,
    ``b/song.wav``: ``a_song_wav``, ``b_song_wav``); then numbered (``_2``, ``_3``, ...)."""
    def ext(file: Path) -> str:
        return file.suffix.lstrip(".").lower()

    levels = [lambda f: f"{f.stem}_{ext(f)}", lambda f: f"{f.parent.name}_{f.stem}_{ext(f)}"]
    names = [file.stem for file, _ in inputs]
    for level in levels:
        keys = [(sub, name.lower()) for (_, sub), name in zip(inputs, names, strict=True)]
        names = [level(file) if keys.count(key) > 1 else name
                 for (file, _), name, key in zip(inputs, names, keys, strict=True)]
    seen: dict[tuple[Path, str], int] = {}
    unique = []
    for (_, sub), name in zip(inputs, names, strict=True):
        count = seen[(sub, name.lower())] = seen.get((sub, name.lower()), 0) + 1
        unique.append(name if count == 1 else f"{name}_{count}")
    return unique


def plan_outputs(inputs: list[tuple[Path, Path]], output: Path, fmt: str) -> list[dict[str, Path]]:
    """Output paths per input: ``{"input", "vocals", "accompaniment", "copy"}``, none shared by two inputs.

    Inputs that would share output names get longer ones (:func:`_unique_names`); the copy of the original keeps
    its file name unless another input in the same sub-folder has that name too.
    """
    names = _unique_names(inputs)
    copies = [(sub, file.name.lower()) for file, sub in inputs]
    plans = []
    for (file, sub), stem, copy in zip(inputs, names, copies, strict=True):
        folder = output / sub
        plans.append(
            {
                "input": file,
                "vocals": folder / f"{stem}_vocals.{fmt}",
                "accompaniment": folder / f"{stem}_accompaniment.{fmt}",
                "copy": folder / (file.name if copies.count(copy) == 1 else f"{stem}{file.suffix}"),
            }
        )
    return plans


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _copy_original(plan: dict[str, Path], protected: list[Path], overwrite: bool) -> None:
    from Utils import atomic_path

    source, target = plan["input"], plan["copy"]
    if _same_file(source, target):
        logger.info("%s: not copied, the output folder is the input's own folder", source)
    elif any(_same_file(target, p) for p in protected):
        logger.warning("%s: not copied, %s is an input file", source, target)
    elif target.exists() and not overwrite:
        logger.info("%s: copy exists, skipped (use --overwrite to replace it)", target)
    else:
        with atomic_path(target) as tmp:
            shutil.copy2(source, tmp)


def separation_options(args: argparse.Namespace) -> SeparationOptions:
    """The :class:`SeparationOptions` of the command line (soft masks, as always in ``separate.py``)."""
    return SeparationOptions(
        accompaniment=args.accompaniment,
        **band_options(args),
        chunk_seconds=args.chunk_seconds,
        batch_size=args.batch_size,
        fmt=args.format,
        bit_depth=args.bit_depth,
        offset=args.offset,
        duration=args.duration,
    )


def _separate_one(
    plan: dict[str, Path],
    args: argparse.Namespace,
    separator: Separator,
    protected: list[Path],
    position: int,
) -> None:
    from tqdm import tqdm

    from Input.audio.files import probe

    outputs = {}
    for name in ("vocals", "accompaniment"):
        target = plan[name]
        if any(_same_file(target, p) for p in protected):
            logger.warning("%s: not written, it is an input file", target)
        elif target.exists() and not args.overwrite:
            logger.info("%s: exists, skipped (use --overwrite to replace it)", target)
        else:
            outputs[name] = target
    if outputs:
        _, _, seconds = probe(plan["input"])
        total = max(0.0, seconds - args.offset) if args.duration is None else args.duration
        plan["vocals"].parent.mkdir(parents=True, exist_ok=True)
        with tqdm(
            total=round(total, 1),
            desc=plan["input"].name,
            unit="s",
            leave=False,
            disable=None,
            position=position,
            bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}]",
        ) as bar:
            separator.separate_file(
                plan["input"],
                outputs,
                separation_options(args),
                progress=lambda s: bar.update(min(s, bar.total - bar.n)),
            )
        logger.info("%s -> %s", plan["input"], ", ".join(str(p) for p in outputs.values()))
    plan["copy"].parent.mkdir(parents=True, exist_ok=True)
    _copy_original(plan, protected, args.overwrite)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (``Utils.EXIT_STATUS``)."""
    return run_cli(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    _validate(parser, args)
    problem = output_problem(Path(args.output))
    if problem:
        raise ConfigError(problem)
    from Models.nets.checkpoint_files import find_latest_checkpoint, resolve_checkpoint
    from Utils import CheckpointError, setup_logging

    setup_logging()
    statuses: list[int] = []  # one per failed input: the exit status of its kind of error

    def report(message: str, kind: str) -> None:
        statuses.append(EXIT_STATUS[kind])
        print(f"error: {message}", file=sys.stderr, flush=True)

    problems: list[str] = []
    inputs = collect_inputs(args.input, problems, Path(args.output))
    for message in problems:
        report(message, "audio")
    checkpoint = args.checkpoint or find_latest_checkpoint("checkpoints")
    if checkpoint is None:
        raise CheckpointError(NO_CHECKPOINT)
    engine = choose_engine(checkpoint, args.engine, args.precision)
    separator = None
    if engine == "onnx":  # loads in well under a second, without TensorFlow
        separator = Separator.load(checkpoint, args.precision, "onnx", cpu_only=args.cpu)
    else:
        resolve_checkpoint(checkpoint)  # a bad path or model spec is reported before TensorFlow starts
    if not inputs:
        return statuses[0]
    from tqdm import tqdm

    from Input.audio.files import AudioError

    if separator is None:
        from Utils import import_tensorflow

        tf = import_tensorflow()
        if args.cpu:
            tf.config.set_visible_devices([], "GPU")
        separator = Separator.load(checkpoint, args.precision, "tf")
    logger.info("using checkpoint %s (engine %s)", separator.checkpoint, separator.engine)
    protected = [file for file, _ in inputs]
    plans = plan_outputs(inputs, Path(args.output), args.format)
    try:
        for plan in tqdm(plans, desc="files", unit="file", disable=None if len(plans) > 1 else True):
            try:
                _separate_one(plan, args, separator, protected, position=1 if len(plans) > 1 else 0)
            except AudioError as err:  # unreadable input, or AudioWriteError
                report(str(err), err.kind)
            except OSError as err:
                report(f"{plan['input']}: cannot write to {plan['vocals'].parent}: {err.strerror or err}", "write")
    except KeyboardInterrupt:
        print("interrupted; unfinished outputs were not written", file=sys.stderr)
        return EXIT_STATUS["interrupted"]
    if statuses:
        print(f"{len(statuses)} problem(s), see the messages above", file=sys.stderr)
        return statuses[0]
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Export a trained separator to ONNX: the U-Net alone, with its model spec as metadata (``Models.nets.onnx_files``).

    python -m Models.export --checkpoint checkpoints/542621_sup      # -> checkpoints/542621_sup/542621_sup-1001.onnx
    python -m Models.export --checkpoint checkpoints/542621_sup/542621_sup-1001 --output sep.onnx

Any checkpoint layout ``Models.api.Separator.load`` reads works (a run folder exports its best checkpoint). The file
is what ``separate.py --engine onnx`` runs with onnxruntime alone; every training phase writes one beside its best
checkpoint. Errors are one line; exit status as ``Utils.EXIT_STATUS`` (5: no usable checkpoint, 6: cannot write).
"""

from __future__ import annotations

import argparse
import sys

from Utils import run_cli


def get_parser() -> argparse.ArgumentParser:
    """Command-line options of ``python -m Models.export``."""
    p = argparse.ArgumentParser(prog="python -m Models.export", description="Export a trained separator to ONNX.")
    p.add_argument("--checkpoint", required=True, metavar="PATH",
                   help="checkpoint prefix (checkpoints/<id>_<phase>/<id>_<phase>-<step>) or run folder")
    p.add_argument("--output", metavar="FILE",
                   help="the ONNX file (default: <checkpoint prefix>.onnx, beside the checkpoint)")
    return p


def _main(argv: list[str] | None) -> int:
    args = get_parser().parse_args(argv)
    from Models.nets.checkpoint_files import resolve_checkpoint
    from Utils import ConfigError, import_tensorflow, setup_logging

    setup_logging()
    if args.output is not None and not args.output.lower().endswith(".onnx"):
        raise ConfigError(f"--output {args.output}: the file name must end in .onnx")
    resolve_checkpoint(args.checkpoint)  # a bad path is reported before TensorFlow starts
    import_tensorflow()
    from Models.nets.onnx_export import export_checkpoint

    try:
        print(export_checkpoint(args.checkpoint, args.output))
    except ImportError as err:
        raise ConfigError(f"the export needs tf2onnx ({err}): pip install tf2onnx") from err
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    return run_cli(lambda: _main(argv))


if __name__ == "__main__":
    sys.exit(main())

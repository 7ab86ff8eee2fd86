"""The inference precision ``--precision auto`` stands for, chosen from what the hardware reports (never from a
timing at start-up):

* a GPU: float32. float16 is meant for GPUs, but no GPU was available to measure whether it is faster and no
  worse here, so it is not picked automatically (``--precision float16`` asks for it);
* a CPU whose flags include ``avx512_bf16`` or an ``amx_*`` flag: bfloat16 (measured about 1.7x faster, median
  SDR within 0.02 dB of float32; README "Precision");
* otherwise float32 (bfloat16 is emulated, hence slower, on CPUs without those instructions).
"""

from __future__ import annotations

import logging
from pathlib import Path

import tensorflow as tf

from Models.separation.options import PRECISION_CHOICES, PRECISIONS

logger = logging.getLogger(__name__)

CPUINFO = Path("/proc/cpuinfo")
BF16_FLAGS = ("avx512_bf16", "amx_bf16", "amx_tile")  # CPU flags of native bfloat16 matrix arithmetic


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux ``/proc/cpuinfo``, first ``flags`` line); empty where not readable."""
    try:
        with CPUINFO.open() as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def choose_precision(precision: str) -> tuple[str, str]:
    """``(precision, reason)``: ``precision`` itself (a key of ``PRECISIONS``) or what ``"auto"`` picks here."""
    if precision != "auto":
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISION_CHOICES}, got {precision!r}")
        return precision, "asked for"
    if tf.config.list_physical_devices("GPU"):
        return "float32", "auto: a GPU (float16 not measured faster here, so not picked)"
    native = sorted(set(BF16_FLAGS) & cpu_flags())
    if native:
        return "bfloat16", f"auto: the CPU has {', '.join(native)}"
    return "float32", "auto: the CPU has none of " + ", ".join(BF16_FLAGS)

"""--precision auto: chosen from the CPU's flags (no GPU on the test machines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from Models.separation import precision
from Models.separation.precision import choose_precision, cpu_flags


def test_auto_picks_float32_on_a_cpu_without_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"fpu", "sse2", "avx2", "fma", "avx512f"})
    chosen, reason = choose_precision("auto")
    assert chosen == "float32"
    assert "avx512_bf16" in reason


@pytest.mark.parametrize("flag", ["avx512_bf16", "amx_bf16"])
def test_auto_picks_bfloat16_on_a_cpu_with_bf16(monkeypatch: pytest.MonkeyPatch, flag: str) -> None:
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", flag})
    assert choose_precision("auto") == ("bfloat16", f"auto: the CPU has {flag}")


def test_an_explicit_precision_is_kept_and_a_wrong_one_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx512_bf16"})
    assert choose_precision("float32") == ("float32", "asked for")
    with pytest.raises(ValueError, match="precision must be one of"):
        choose_precision("float64")


def test_cpu_flags_reads_the_first_flags_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: x\nflags\t\t: fpu avx512_bf16 amx_tile\n\n"
                    "processor\t: 1\nflags\t\t: fpu\n")
    monkeypatch.setattr(precision, "CPUINFO", info)
    assert cpu_flags() == {"fpu", "avx512_bf16", "amx_tile"}
    monkeypatch.setattr(precision, "CPUINFO", tmp_path / "absent")
    assert cpu_flags() == set()

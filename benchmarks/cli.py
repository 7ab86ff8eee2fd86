"""The benchmarks' error boundary: the command-line programs' one (``Utils.run_cli``), with Ctrl-C and SIGTERM
alike ending in one line on stderr that says what was finished, and exit status 130 (SIGINT) or 143 (SIGTERM).

Every benchmark's ``main`` is ``return run_benchmark("benchmarks.<name>", lambda: _main(argv))``. A benchmark
that keeps partial results raises :class:`BenchmarkInterrupted` itself with the line to print (what it kept and
how to resume); any other interrupt becomes ``<program> interrupted by <signal>; finished: nothing ...``.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

from Utils import EXIT_STATUS, SIGNAL_STATUS, interrupts_raise, one_line, run_cli


class BenchmarkInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a benchmark; the message is the one line ``run_cli`` prints."""

    def __init__(self, message: str, exit_status: int = EXIT_STATUS["interrupted"]) -> None:
        super().__init__(one_line(message))
        self.exit_status = exit_status


def interrupt_status(err: KeyboardInterrupt) -> int:
    """The exit status of an interrupt: its own ``exit_status`` (``Models.training.loop.TrainingInterrupted``, a
    :class:`BenchmarkInterrupted`), else 130 (a plain Ctrl-C)."""
    return int(getattr(err, "exit_status", EXIT_STATUS["interrupted"]))


def signal_name(status: int) -> str:
    """``SIGINT`` or ``SIGTERM`` for an interrupt's exit status."""
    return next((signal.Signals(sig).name for sig, code in SIGNAL_STATUS.items() if code == status), "a signal")


def run_benchmark(program: str, main: Callable[[], object]) -> int:
    """Run a benchmark's ``main`` behind ``Utils.run_cli`` and return its exit status (0 when it finishes).

    ``program`` (e.g. ``"benchmarks.stft"``) names it in the interrupt line. A :class:`BenchmarkInterrupted`
    raised by ``main`` is printed as it is; any other interrupt says that nothing was finished (the benchmark's
    table is printed only at its end).
    """

    def guarded() -> int:
        with interrupts_raise():
            try:
                main()
            except BenchmarkInterrupted:
                raise
            except KeyboardInterrupt as err:
                raise _nothing_finished(program, err) from None
        return 0

    return run_cli(guarded)


def _nothing_finished(program: str, err: KeyboardInterrupt) -> BenchmarkInterrupted:
    status = interrupt_status(err)
    return BenchmarkInterrupted(f"{program} interrupted by {signal_name(status)}; finished: nothing (its table is "
                                f"printed once every measurement is done)", status)

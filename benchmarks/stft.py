"""TensorFlow STFT/ISTFT (``Models.nets.spectrogram``) against librosa on the same batch: time and agreement.

    python -m benchmarks.stft [--batch 16] [--seconds 30] [--sr 8192] [--repeats 7]

The batch is ``--batch`` signals of ``--seconds`` of noisy tones at ``--sr`` Hz (float32), transformed with the
project's settings (``num_fft`` 512, ``num_hop`` 256, centred, zero padding). Times are medians over
``--repeats`` rounds after a warm-up, with TF and librosa timed in turn in each round; TF runs inside a
``tf.function`` (as in the input pipeline) and eagerly. TF returns magnitude and phase, so librosa is also timed
with ``np.abs``/``np.angle`` after its complex STFT; TF's ISTFT starts from magnitude and phase, librosa's from
the complex STFT. Errors are maximum absolute differences, relative to
the largest magnitude (STFT) or sample (ISTFT).
"""

from __future__ import annotations

import argparse
import os

import librosa
import numpy as np
import tensorflow as tf

from benchmarks.cli import run_benchmark
from benchmarks.report import interleaved, print_table
from Models.nets.spectrogram import istft, stft

NUM_FFT, NUM_HOP = 512, 256


def make_batch(batch: int, seconds: float, sr: int) -> np.ndarray:
    """``[batch, samples]`` float32: a tone per signal plus noise."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    tones = np.sin(2 * np.pi * rng.uniform(100, sr / 4, (batch, 1)) * t)
    return (0.3 * tones + 0.05 * rng.standard_normal((batch, t.size))).astype(np.float32)


def measure(args: argparse.Namespace) -> list[tuple[str, str]]:
    """Runs the comparison; returns table rows ``(figure, value)``."""
    audio = make_batch(args.batch, args.seconds, args.sr)
    length = audio.shape[-1]
    tf_audio = tf.constant(audio)
    forward = tf.function(lambda x: stft(x, NUM_FFT, NUM_HOP))
    inverse = tf.function(lambda m, p: istft(m, p, NUM_FFT, NUM_HOP, length=length))

    def librosa_stft() -> np.ndarray:
        return librosa.stft(audio, n_fft=NUM_FFT, hop_length=NUM_HOP, center=True, pad_mode="constant")

    reference = librosa_stft()  # [batch, freq, time] complex64
    mag, phase = (t.numpy() for t in forward(tf_audio))
    tf_mag, tf_phase = tf.constant(mag), tf.constant(phase)
    times = interleaved(
        {
            "tf stft": lambda: [t.numpy() for t in forward(tf_audio)],
            "tf stft eager": lambda: [t.numpy() for t in stft(tf_audio, NUM_FFT, NUM_HOP)],
            "librosa stft": librosa_stft,
            "librosa stft+polar": lambda: (lambda spec: (np.abs(spec), np.angle(spec)))(librosa_stft()),
            "tf istft": lambda: inverse(tf_mag, tf_phase).numpy(),
            "tf istft eager": lambda: istft(tf_mag, tf_phase, NUM_FFT, NUM_HOP, length=length).numpy(),
            "librosa istft": lambda: librosa.istft(reference, n_fft=NUM_FFT, hop_length=NUM_HOP, length=length),
        },
        args.repeats,
    )
    spec_error = np.abs(mag * np.exp(1j * phase) - reference).max() / np.abs(reference).max()
    back = inverse(tf_mag, tf_phase).numpy()
    reference_back = librosa.istft(reference, n_fft=NUM_FFT, hop_length=NUM_HOP, length=length)
    scale = np.abs(audio).max()
    rows = [
        ("batch", f"{args.batch} x {args.seconds:g} s at {args.sr} Hz, float32; load {os.getloadavg()[0]:.1f}"),
        ("STFT to (magnitude, phase): TF tf.function / TF eager, ms",
         f"{times['tf stft'] * 1e3:.1f} / {times['tf stft eager'] * 1e3:.1f}"),
        ("STFT: librosa complex / librosa + np.abs, np.angle, ms",
         f"{times['librosa stft'] * 1e3:.1f} / {times['librosa stft+polar'] * 1e3:.1f}"),
        ("STFT speed-up of TF (tf.function) over librosa + abs, angle",
         f"{times['librosa stft+polar'] / times['tf stft']:.2f}x"),
        ("STFT max |TF - librosa| / max |STFT|", f"{spec_error:.1e}"),
        ("ISTFT: TF tf.function / eager / librosa, ms",
         f"{times['tf istft'] * 1e3:.1f} / {times['tf istft eager'] * 1e3:.1f} / "
         f"{times['librosa istft'] * 1e3:.1f}"),
        ("ISTFT speed-up of TF (tf.function) over librosa", f"{times['librosa istft'] / times['tf istft']:.2f}x"),
        ("ISTFT max |TF - librosa| / max |audio|", f"{np.abs(back - reference_back).max() / scale:.1e}"),
        ("round trip max |istft(stft(x)) - x| / max |x|: TF / librosa",
         f"{np.abs(back - audio).max() / scale:.1e} / {np.abs(reference_back - audio).max() / scale:.1e}"),
    ]
    return rows


def _main(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=16, help="signals in the batch")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each signal, s")
    parser.add_argument("--sr", type=int, default=8192, help="sample rate, Hz")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (median)")
    args = parser.parse_args(argv)
    rows = measure(args)
    print_table(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (``argv`` as ``sys.argv[1:]``); returns the exit status (``benchmarks.cli``)."""
    return run_benchmark("benchmarks.stft", lambda: _main(argv))


if __name__ == "__main__":
    raise SystemExit(main())

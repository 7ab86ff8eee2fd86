"""STFT ops in TensorFlow, matching ``librosa.stft(center=True, pad_mode="constant")`` and ``librosa.istft``.

All functions are plain TF ops: they run eagerly or inside ``tf.function``, on CPU or GPU, and accept any
number of leading batch dimensions. Layout conventions:

* audio: ``[..., samples]`` float (amplitude, nominally in [-1, 1]);
* spectrograms: ``[..., freq, time]`` with ``freq = num_fft // 2 + 1`` bins (bin ``k`` is ``k * sr / num_fft``
  Hz) and ``time = 1 + samples // num_hop`` frames (frame ``t`` is centred on sample ``t * num_hop``).

The window is a periodic Hann window of ``num_fft`` samples (``scipy.signal.get_window("hann", num_fft)``, as
librosa uses). Framing is centred: ``num_fft // 2`` zeros are added at both ends of the signal before framing.
"""

from __future__ import annotations

import logging

import tensorflow as tf

logger = logging.getLogger(__name__)


def _as_float(x: tf.Tensor | object) -> tf.Tensor:
    """Converts ``x`` to a floating tensor (float32 unless it already is float32/float64)."""
    x = tf.convert_to_tensor(x)
    if x.dtype not in (tf.float32, tf.float64):
        x = tf.cast(x, tf.float32)
    return x


def stft(audio: tf.Tensor, num_fft: int = 512, num_hop: int = 256) -> tuple[tf.Tensor, tf.Tensor]:
    """Centred STFT of real audio, returned as magnitude and phase.

    Args:
        audio: ``[..., samples]`` real signal (float32 or float64; other dtypes are cast to float32).
        num_fft: FFT and window length in samples (even).
        num_hop: hop between frames in samples.

    Returns:
        ``(mag, phase)``, each ``[..., num_fft // 2 + 1, 1 + samples // num_hop]``: linear magnitude (same
        scale as ``np.abs(librosa.stft(...))``) and phase in radians in ``(-pi, pi]``.
    """
    audio = _as_float(audio)
    half = num_fft // 2
    rank = audio.shape.rank
    if rank is None:
        raise ValueError("stft: audio must have a known rank")
    padded = tf.pad(audio, [[0, 0]] * (rank - 1) + [[half, half]])
    spec = tf.signal.stft(
        padded,
        frame_length=num_fft,
        frame_step=num_hop,
        fft_length=num_fft,
        window_fn=tf.signal.hann_window,  # periodic=True by default, like librosa's "hann"
        pad_end=False,
    )  # [..., time, freq]
    # atan2 of the real parts is ~3x faster on CPU than tf.math.angle on the complex tensor (same values).
    mag = tf.math.abs(spec)
    phase = tf.math.atan2(tf.math.imag(spec), tf.math.real(spec))
    return tf.linalg.matrix_transpose(mag), tf.linalg.matrix_transpose(phase)  # [..., freq, time]


def istft(
    mag: tf.Tensor,
    phase: tf.Tensor,
    num_fft: int = 512,
    num_hop: int = 256,
    length: int | tf.Tensor | None = None,
) -> tf.Tensor:
    """Inverse of :func:`stft` from a magnitude and a phase (e.g. the mixture's phase).

    Frames are inverse-FFT'd, windowed with the same Hann window and overlap-added
    (``tf.signal.inverse_stft``), then divided by the actual summed squared window of the frames present
    (as ``librosa.istft`` does). Dividing by the true envelope, rather than the steady-state one of
    ``tf.signal.inverse_stft_window_fn``, keeps the reconstruction exact in the last
    ``samples % num_hop`` samples, which only one frame covers.

    Args:
        mag: ``[..., num_fft // 2 + 1, time]`` linear magnitude.
        phase: same shape as ``mag``, radians.
        num_fft: FFT and window length used by the forward transform.
        num_hop: hop used by the forward transform.
        length: output length in samples (int or scalar int tensor). The signal is trimmed or zero-padded at
            the end to this length. ``None`` gives ``num_hop * (time - 1)`` samples, like ``librosa.istft``.

    Returns:
        ``[..., samples]`` real signal, dtype float32 (float64 if ``mag`` is float64).
    """
    mag = _as_float(mag)
    phase = tf.cast(phase, mag.dtype)
    spec = tf.complex(mag * tf.math.cos(phase), mag * tf.math.sin(phase))
    spec = tf.linalg.matrix_transpose(spec)  # [..., time, freq]
    num_frames = tf.shape(spec)[-2]
    frames = tf.signal.inverse_stft(
        spec,
        frame_length=num_fft,
        frame_step=num_hop,
        fft_length=num_fft,
        window_fn=tf.signal.hann_window,
    )  # [..., (time - 1) * hop + num_fft], sum over frames of window * frame
    window_sq = tf.square(tf.signal.hann_window(num_fft, dtype=mag.dtype))
    envelope = tf.signal.overlap_and_add(tf.tile(window_sq[None, :], [num_frames, 1]), num_hop)
    tiny = tf.constant(1e-10, dtype=mag.dtype)
    safe = tf.where(envelope > tiny, envelope, tf.ones_like(envelope))
    signal = tf.where(envelope > tiny, frames / safe, frames)
    signal = signal[..., num_fft // 2 :]  # remove the centre padding at the start
    if length is None:
        length = num_hop * (num_frames - 1)
    return fix_length(signal, length)


def fix_length(signal: tf.Tensor, length: int | tf.Tensor) -> tf.Tensor:
    """Trims or zero-pads (at the end) the last axis of ``signal`` ``[..., samples]`` to ``length``."""
    length = tf.cast(length, tf.int32)
    missing = tf.maximum(length - tf.shape(signal)[-1], 0)
    zeros = tf.zeros(tf.concat([tf.shape(signal)[:-1], [missing]], axis=0), dtype=signal.dtype)
    return tf.concat([signal, zeros], axis=-1)[..., :length]


def norm(mag: tf.Tensor) -> tf.Tensor:
    """Log-normalisation used as network input/output: ``log(1 + mag)``, any shape, elementwise."""
    return tf.math.log1p(mag)


def denorm(x: tf.Tensor) -> tf.Tensor:
    """Inverse of :func:`norm`: ``exp(x) - 1``, any shape, elementwise."""
    return tf.math.expm1(x)

"""Tests for Models/nets/spectrogram.py against librosa, the reference implementation."""

import librosa
import numpy as np
import pytest
import tensorflow as tf

from Models.nets.spectrogram import denorm, istft, norm, stft

NUM_FFT, NUM_HOP = 512, 256
# Lengths: shorter than the window, exact multiples of the hop, and awkward remainders.
LENGTHS = [100, 256, 1000, 8192, 8193, 12345]
# Float32 STFT of a signal in [-1, 1]: errors are ~1e-7 of the peak magnitude; 1e-4 leaves ample margin.
REL_TOL = 1e-4


def _signal(num_samples: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, num_samples).astype(np.float32)


@pytest.mark.filterwarnings("ignore:n_fft=512 is too large")
@pytest.mark.parametrize("num_samples", LENGTHS)
def test_stft_matches_librosa(num_samples):
    audio = _signal(num_samples)
    ref = librosa.stft(
        audio, n_fft=NUM_FFT, hop_length=NUM_HOP, center=True, pad_mode="constant", window="hann"
    )
    mag, phase = stft(audio, NUM_FFT, NUM_HOP)
    assert mag.shape == (NUM_FFT // 2 + 1, 1 + num_samples // NUM_HOP) == ref.shape
    peak = np.abs(ref).max()
    # Magnitude: max abs error relative to the largest magnitude.
    assert np.abs(mag.numpy() - np.abs(ref)).max() / peak < REL_TOL
    # Complex value (so the phase too, weighted by magnitude where the phase is meaningful).
    complex_spec = mag.numpy() * np.exp(1j * phase.numpy())
    assert np.abs(complex_spec - ref).max() / peak < REL_TOL


@pytest.mark.parametrize("num_samples", LENGTHS)
def test_round_trip_whole_signal(num_samples):
    audio = _signal(num_samples, seed=1)
    mag, phase = stft(audio)
    recon = istft(mag, phase, length=num_samples).numpy()
    assert recon.shape == (num_samples,)
    # Every sample, including the last num_samples % hop samples covered by a single frame.
    assert np.abs(recon - audio).max() / np.abs(audio).max() < REL_TOL


def test_istft_default_length_matches_librosa():
    audio = _signal(12345, seed=2)
    mag, phase = stft(audio)
    spec = mag.numpy() * np.exp(1j * phase.numpy())
    ref = librosa.istft(spec, hop_length=NUM_HOP, n_fft=NUM_FFT, window="hann", center=True)
    ours = istft(mag, phase).numpy()
    assert ours.shape == ref.shape == (NUM_HOP * (mag.shape[-1] - 1),)
    assert np.abs(ours - ref).max() < REL_TOL


def test_istft_pads_to_longer_length_with_zeros():
    audio = _signal(1000, seed=3)
    mag, phase = stft(audio)
    recon = istft(mag, phase, length=tf.constant(1500)).numpy()
    assert recon.shape == (1500,)
    np.testing.assert_allclose(recon[:1000], audio, atol=REL_TOL)
    # Past the frames' coverage (hop * (frames - 1) + num_fft // 2 = 1024 samples) only zeros remain.
    assert np.all(recon[1024:] == 0.0)


def test_batched_inside_tf_function():
    batch = np.stack([_signal(4000, seed=s) for s in range(6)]).reshape(2, 3, 4000)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None], tf.float32), tf.TensorSpec([], tf.int32)])
    def round_trip(audio, length):
        mag, phase = stft(audio)
        return mag, istft(denorm(norm(mag)), phase, length=length)

    mag, recon = round_trip(tf.constant(batch), tf.constant(4000))
    assert mag.shape == (2, 3, NUM_FFT // 2 + 1, 1 + 4000 // NUM_HOP)
    assert recon.shape == (2, 3, 4000)
    # Each batch element equals its unbatched transform.
    single, _ = stft(batch[1, 2])
    np.testing.assert_allclose(mag[1, 2].numpy(), single.numpy(), atol=1e-5)
    assert np.abs(recon.numpy() - batch).max() < REL_TOL


def test_norm_denorm_inverse():
    mag = np.array([0.0, 1e-6, 0.5, 3.0, 1000.0], dtype=np.float32)
    np.testing.assert_allclose(norm(mag).numpy(), np.log1p(mag), rtol=1e-6)
    np.testing.assert_allclose(denorm(norm(mag)).numpy(), mag, rtol=1e-5)

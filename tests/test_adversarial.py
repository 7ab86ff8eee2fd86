"""The adversarial step: critics and separator all move, nothing becomes NaN, the losses are the paper's."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from Models.adversarial import AdversarialTrainer, additive_penalty, mixture_magnitude
from Models.factory import get_shapes
from Models.spectrogram import norm

CONFIG = {
    "num_fft": 512, "num_hop": 256, "num_frames": 8, "num_layers": 1, "num_initial_filters": 2,
    "output_activation": "relu", "critic_initial_filters": 2, "init_unsup_sep_lr": 1e-3, "init_disc_lr": 1e-3,
    "num_disc": 3, "alpha": 0.001, "beta": 0.001, "lam": 10.0, "one_sided_gp": True, "seed": 0,
}


def _batches(shapes, batch: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    mix = rng.random((batch, shapes.input_freq, shapes.input_time, 1), dtype=np.float32)
    out = rng.random((batch, shapes.output_freq, shapes.output_time, 1), dtype=np.float32)
    real = rng.random((batch, shapes.disc_freq, shapes.disc_time, 1), dtype=np.float32)
    paired = tf.data.Dataset.from_tensors((mix, out, out)).repeat()
    unpaired = tf.data.Dataset.from_tensors((mix, real, real * 0.5)).repeat()
    return paired, unpaired


def _snapshot(model) -> list[np.ndarray]:
    return [v.numpy().copy() for v in model.trainable_variables]


def _changed(before, model) -> bool:
    return any(not np.array_equal(a, v.numpy()) for a, v in zip(before, model.trainable_variables, strict=True))


def test_one_step_moves_separator_and_both_critics_without_nan():
    trainer = AdversarialTrainer(CONFIG)
    paired, unpaired = _batches(trainer.shapes)
    step = trainer.make_step(paired, unpaired)
    step()  # builds the variables of all models and optimisers
    before = {"sep": _snapshot(trainer.separator),
              **{k: _snapshot(c) for k, c in trainer.critics.items()}}
    logs = step()
    assert _changed(before["sep"], trainer.separator)
    for source, critic in trainer.critics.items():
        assert _changed(before[source], critic), source
    for key, value in logs.items():
        assert np.all(np.isfinite(value.numpy())), key
    for key in ("loss", "supervised_loss", "adversarial_loss", "additive_penalty", "critic_voice/wasserstein",
                "critic_accompaniment/gradient_penalty", "critic_voice/d_real", "critic_voice/d_fake"):
        assert key in logs
    # Each separator update is preceded by num_disc updates of each critic.
    assert int(trainer.critic_optimizers["voice"].iterations) == 2 * CONFIG["num_disc"]
    assert int(trainer.sep_optimizer.iterations) == 2
    assert step.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("change", [{"mixed_precision": "mixed_float16"}, {"train_jit_compile": True}],
                         ids=["mixed_float16", "xla"])
def test_mixed_precision_and_xla_steps_train_every_model(change):
    config = dict(CONFIG, **change)
    trainer = AdversarialTrainer(config)
    if "mixed_precision" in change:
        assert trainer.separator.compute_dtype == "float16"
        assert all(c.compute_dtype == "float16" for c in trainer.critics.values())
        for optimizer in (trainer.sep_optimizer, *trainer.critic_optimizers.values()):
            assert isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer)
    step = trainer.make_step(*_batches(trainer.shapes))
    step()
    before = {"sep": _snapshot(trainer.separator), **{k: _snapshot(c) for k, c in trainer.critics.items()}}
    logs = step()
    assert _changed(before["sep"], trainer.separator)
    for source, critic in trainer.critics.items():
        assert _changed(before[source], critic), source
    for key, value in logs.items():
        assert value.dtype == tf.float32 and np.isfinite(value.numpy()), key


def test_additive_penalty_is_zero_for_a_perfect_split_and_uses_linear_magnitudes():
    shapes = get_shapes(CONFIG)
    rng = np.random.default_rng(1)
    mix_lin = rng.random((1, shapes.num_bins, shapes.input_time), dtype=np.float32) * 3
    mix_in = np.zeros((1, shapes.input_freq, shapes.input_time, 1), np.float32)
    mix_in[0, shapes.freq_pad_lo : shapes.freq_pad_lo + shapes.num_bins, :, 0] = norm(mix_lin).numpy()[0]
    centre = mix_lin[:, :, shapes.context_frames : shapes.context_frames + shapes.output_time]
    np.testing.assert_allclose(mixture_magnitude(mix_in, shapes).numpy(), centre, rtol=1e-5)

    def as_output(lin):
        out = np.zeros((1, shapes.output_freq, shapes.output_time, 1), np.float32)
        out[0, : shapes.num_bins, :, 0] = norm(lin).numpy()[0]
        return out

    share = 0.3
    exact = additive_penalty(mix_in, as_output(centre * share), as_output(centre * (1 - share)), shapes)
    assert float(exact) < 1e-8
    # With both estimates silent the penalty is the mean squared linear mixture magnitude.
    silent = additive_penalty(mix_in, as_output(centre * 0), as_output(centre * 0), shapes)
    np.testing.assert_allclose(float(silent), np.mean(centre**2), rtol=1e-4)

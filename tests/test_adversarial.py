"""The adversarial step: critics and separator all move, nothing becomes NaN, the losses are the paper's."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from Models.config import ExperimentConfig, resolved_model_config
from Models.nets.critic import gradient_penalty
from Models.nets.factory import get_shapes
from Models.nets.spectrogram import norm
from Models.training.semisupervised import AdversarialTrainer, additive_penalty, mixture_magnitude

CONFIG = resolved_model_config(num_frames=8, num_layers=1, num_initial_filters=2, critic_initial_filters=2,
                               init_unsup_sep_lr=1e-3, init_disc_lr=1e-3, num_disc=3, seed=0)


def _trainer(**changes: object) -> AdversarialTrainer:
    """An AdversarialTrainer of ``CONFIG`` with ``model_config`` ``changes``."""
    config = ExperimentConfig.from_dict({**CONFIG, **changes})
    return AdversarialTrainer(config.spec, config.train)


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
    trainer = _trainer()
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
    trainer = _trainer(**change)
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
    shapes = get_shapes(ExperimentConfig.from_dict(CONFIG).spec)
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


def _hand_inputs(shapes, batch: int = 2, seed: int = 7):
    """Paired (mix, acc, voice) and an unpaired mixture; mixtures scaled so the separator's outputs are not tiny."""
    rng = np.random.default_rng(seed)
    mix = rng.random((batch, shapes.input_freq, shapes.input_time, 1), dtype=np.float32) * 1.5
    acc = rng.random((batch, shapes.output_freq, shapes.output_time, 1), dtype=np.float32)
    voice = rng.random((batch, shapes.output_freq, shapes.output_time, 1), dtype=np.float32)
    mix_unsup = rng.random((batch, shapes.input_freq, shapes.input_time, 1), dtype=np.float32) * 1.5
    return tuple(tf.constant(x) for x in (mix, acc, voice)), tf.constant(mix_unsup)


def _disc_view(estimate, shapes):
    """Critic input by hand: output bins 1..256 (no DC bin, no padding; as the original), the centred disc_time
    frames."""
    start = (shapes.output_time - shapes.disc_time) // 2
    return estimate[:, 1 : 1 + shapes.disc_freq, start : start + shapes.disc_time, :]


def _hand_separator_terms(trainer, sup, mix_unsup):
    """Supervised MSE, L_u = -(mean D_acc(fake acc) + mean D_voice(fake voice)) and the additive penalty in linear
    magnitudes, from separate calls of the separator and the critics (not through the trainer's methods)."""
    shapes = trainer.shapes
    mix, acc, voice = sup
    acc_est, voice_est = trainer.separator(mix)
    supervised = tf.reduce_mean(tf.square(acc_est - acc)) + tf.reduce_mean(tf.square(voice_est - voice))
    acc_u, voice_u = trainer.separator(mix_unsup)
    l_u = -(tf.reduce_mean(trainer.critics["accompaniment"](_disc_view(acc_u, shapes)))
            + tf.reduce_mean(trainer.critics["voice"](_disc_view(voice_u, shapes))))
    bins, lo, ctx = shapes.num_bins, shapes.freq_pad_lo, shapes.context_frames
    mix_lin = tf.math.expm1(mix_unsup[:, lo : lo + bins, ctx : ctx + shapes.output_time, 0])
    residual = mix_lin - tf.math.expm1(acc_u[:, :bins, :, 0]) - tf.math.expm1(voice_u[:, :bins, :, 0])
    return supervised, l_u, tf.reduce_mean(tf.square(residual))


@pytest.mark.parametrize(("alpha", "beta"), [(0.7, 0.05), (2.0, 0.0), (0.0, 0.2)])
def test_separator_loss_and_gradient_are_supervised_plus_alpha_lu_plus_beta_penalty(alpha, beta):
    trainer = _trainer(alpha=alpha, beta=beta)
    for critic in trainer.critics.values():  # larger scores, so that alpha * L_u is far above float rounding
        critic.score.kernel.assign(critic.score.kernel * 100.0)
    sup, mix_unsup = _hand_inputs(trainer.shapes)
    grads, logs = trainer.separator_gradients(sup, mix_unsup, global_batch=2)

    variables = trainer.separator.trainable_variables
    with tf.GradientTape() as tape:
        supervised, l_u, add = _hand_separator_terms(trainer, sup, mix_unsup)
        expected_loss = supervised + alpha * l_u + beta * add
    expected_grads = tape.gradient(expected_loss, variables)
    with tf.GradientTape() as tape:
        adversarial_only = _hand_separator_terms(trainer, sup, mix_unsup)[1]
    lu_grads = tape.gradient(adversarial_only, variables)

    assert abs(float(l_u)) > 0.01 and float(add) > 0.1  # both extra terms matter
    np.testing.assert_allclose(float(logs["supervised_loss"]), float(supervised), rtol=1e-5)
    np.testing.assert_allclose(float(logs["adversarial_loss"]), float(l_u), rtol=1e-5)
    np.testing.assert_allclose(float(logs["additive_penalty"]), float(add), rtol=1e-5)
    np.testing.assert_allclose(float(logs["loss"]), float(expected_loss), rtol=1e-5)
    # The L_u gradient is not negligible next to the total, so a wrong sign or weight shows in the comparison.
    assert max(float(tf.reduce_max(tf.abs(g))) for g in lu_grads) > 1e-3
    for got, want in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-6)


def test_changing_alpha_and_beta_moves_loss_and_gradient_by_the_weighted_terms():
    trainer = _trainer(alpha=0.0, beta=0.0)
    for critic in trainer.critics.values():
        critic.score.kernel.assign(critic.score.kernel * 100.0)
    sup, mix_unsup = _hand_inputs(trainer.shapes, seed=8)
    base_grads, base = trainer.separator_gradients(sup, mix_unsup, global_batch=2)
    np.testing.assert_allclose(float(base["loss"]), float(base["supervised_loss"]), rtol=1e-6)
    variables = trainer.separator.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        _, l_u, add = _hand_separator_terms(trainer, sup, mix_unsup)
    term_grads = {"alpha": tape.gradient(l_u, variables), "beta": tape.gradient(add, variables)}
    for name, weight, term in (("alpha", 1.5, l_u), ("beta", 0.25, add)):
        setattr(trainer, name, weight)
        grads, logs = trainer.separator_gradients(sup, mix_unsup, global_batch=2)
        setattr(trainer, name, 0.0)
        np.testing.assert_allclose(float(logs["loss"]) - float(base["loss"]), weight * float(term), rtol=1e-4)
        for got, zero, term_grad in zip(grads, base_grads, term_grads[name], strict=True):
            np.testing.assert_allclose(got.numpy() - zero.numpy(), weight * term_grad.numpy(), rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("one_sided", [True, False])
def test_critic_loss_is_d_fake_minus_d_real_plus_lam_gp(one_sided):
    trainer = _trainer(lam=3.0, one_sided_gp=one_sided)
    for critic in trainer.critics.values():  # input-gradient norms above 1, so the one-sided penalty is not 0
        critic.score.kernel.assign(critic.score.kernel * 100.0)
    shapes = trainer.shapes
    (mix, _, _), _ = _hand_inputs(shapes, seed=9)
    rng = np.random.default_rng(10)
    reals = {"accompaniment": tf.constant(rng.random((2, shapes.disc_freq, shapes.disc_time, 1), np.float32) * 4),
             "voice": tf.constant(rng.random((2, shapes.disc_freq, shapes.disc_time, 1), np.float32) * 0.5)}
    state = trainer.penalty_rng.state.numpy()
    grads, logs = trainer.critic_gradients(mix, reals["accompaniment"], reals["voice"], global_batch=2)

    trainer.penalty_rng.reset(state)  # the same penalty draws, in the same order (accompaniment, then voice)
    acc_est, voice_est = trainer.separator(mix)
    fakes = {"accompaniment": _disc_view(acc_est, shapes), "voice": _disc_view(voice_est, shapes)}
    for source in ("accompaniment", "voice"):
        critic = trainer.critics[source]
        with tf.GradientTape() as tape:
            d_real = tf.reduce_mean(critic(reals[source]))
            d_fake = tf.reduce_mean(critic(fakes[source]))
            gp = gradient_penalty(critic, reals[source], fakes[source], one_sided=one_sided,
                                  **trainer.penalty_draws(reals[source]))
            expected = d_fake - d_real + 3.0 * gp
        expected_grads = tape.gradient(expected, critic.trainable_variables)
        assert abs(float(d_real - d_fake)) > 1e-3 and float(gp) > 1e-3
        np.testing.assert_allclose(float(logs[f"critic_{source}/d_real"]), float(d_real), rtol=1e-5)
        np.testing.assert_allclose(float(logs[f"critic_{source}/d_fake"]), float(d_fake), rtol=1e-5)
        np.testing.assert_allclose(float(logs[f"critic_{source}/wasserstein"]), float(d_real - d_fake), rtol=1e-4)
        np.testing.assert_allclose(float(logs[f"critic_{source}/gradient_penalty"]), float(gp), rtol=1e-5)
        np.testing.assert_allclose(float(logs[f"critic_{source}/loss"]), float(expected), rtol=1e-5)
        for got, want in zip(grads[source], expected_grads, strict=True):
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-6)


def test_random_gain_is_uniform_per_excerpt_in_range():
    from scipy import stats

    from Models.training.features import random_gain

    rng = tf.random.Generator.from_seed(3)
    waves = tf.ones([20_000, 4])
    gains = random_gain(waves, rng, [0.2, 1.2]).numpy()
    assert np.all(gains == gains[:, :1])  # one factor per excerpt, the whole excerpt scaled alike
    factors = gains[:, 0]
    assert factors.min() >= 0.2 and factors.max() <= 1.2
    assert stats.kstest(factors, stats.uniform(loc=0.2, scale=1.0).cdf).pvalue > 1e-3
    assert abs(factors.mean() - 0.7) < 0.01 and abs(factors.std() - 1 / np.sqrt(12)) < 0.01


def test_trainer_scales_unpaired_excerpts_only_and_none_turns_it_off():
    """The features the adversarial step runs: each unlabelled mixture, accompaniment and voice excerpt gets its
    own gain in [0.2, 1.2]; the paired, supervised examples are unchanged; ``unsup_gain_range=None`` scales
    nothing."""
    from Models.nets.spectrogram import denorm
    from Models.training.features import excerpt_plan, paired_features, unpaired_features

    trainer = _trainer()
    assert trainer.gain_range == (0.2, 1.2) and "gain_rng" in trainer.trackables()
    shapes, plan, batch = trainer.shapes, excerpt_plan(trainer.spec), 64
    rng = np.random.default_rng(5)
    mix = rng.standard_normal((batch, plan.samples(shapes.input_time))).astype(np.float32)
    real = rng.standard_normal((batch, plan.samples(shapes.disc_time))).astype(np.float32)
    meta = tf.constant([[0, 10_000]] * batch, tf.int32)
    waves, metas = (mix, real, real), (meta, meta, meta)
    paired_fn, unpaired_fn = trainer.features()
    plain = unpaired_features(trainer.spec)(waves, metas)
    scaled = unpaired_fn(waves, metas)
    ratios = []
    for a, b in zip(scaled, plain, strict=True):
        lin_a, lin_b = denorm(a).numpy(), denorm(b).numpy()
        ratio = lin_a.sum(axis=(1, 2, 3)) / lin_b.sum(axis=(1, 2, 3))
        np.testing.assert_allclose(lin_a, ratio[:, None, None, None] * lin_b, rtol=1e-3, atol=1e-5)
        ratios.append(ratio)
    ratios = np.stack(ratios)  # [3, batch]
    assert ratios.min() >= 0.2 - 1e-4 and ratios.max() <= 1.2 + 1e-4 and ratios.std() > 0.1
    assert not np.allclose(ratios[1], ratios[2])  # accompaniment and voice excerpts drawn independently
    paired_waves = tf.constant(np.stack([mix, mix, mix], axis=1))
    for a, b in zip(paired_fn(paired_waves, meta), paired_features(trainer.spec)(paired_waves, meta), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    off = _trainer(unsup_gain_range=None)
    assert "gain_rng" not in off.trackables()
    for a, b in zip(off.features()[1](waves, metas), plain, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

"""The semi-supervised phase: the separator is trained with the supervised loss plus an adversarial loss from
one WGAN-GP critic per source, computed on unlabelled mixtures, plus an additive penalty tying the estimates to
the unlabelled mixture (Stoller et al. 2017, eq. 5-7).

One call of the compiled step performs ``num_disc`` updates of *each* critic on fresh unpaired batches and then
one separator update; no Python loop over examples.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import tensorflow as tf
import tf_keras as keras

from Input.audio_cache import AudioCache
from Input.pipeline import crop_output_to_stft, make_paired_dataset, make_unpaired_dataset, to_disc
from Input.spectrogram import denorm
from Models.factory import ModelShapes, build_critic, build_separator, get_shapes
from Models.supervised import make_summariser, separation_loss, track_loss
from Models.trainer import PhaseResult, run_phase
from Models.WGAN_Critic import critic_loss, gradient_penalty

logger = logging.getLogger(__name__)

SOURCES = ("accompaniment", "voice")


def _critic_input(estimate: tf.Tensor, shapes: ModelShapes) -> tf.Tensor:
    """Separator output ``[B, output_freq, output_time, 1]`` -> critic input ``[B, 256, disc_time, 1]``."""
    return to_disc(estimate[..., 0], shapes)[..., None]


def mixture_magnitude(mix_input: tf.Tensor, shapes: ModelShapes) -> tf.Tensor:
    """Linear mixture magnitude under the separator's output: ``[B, input_freq, input_time, 1]`` log1p input ->
    ``[B, 257, output_time]`` (the unpadded bins, centre frames)."""
    bins = shapes.num_bins
    crop = mix_input[:, shapes.freq_pad_lo : shapes.freq_pad_lo + bins,
                     shapes.context_frames : shapes.context_frames + shapes.output_time, 0]
    return denorm(crop)


def additive_penalty(mix_input: tf.Tensor, acc_est: tf.Tensor, voice_est: tf.Tensor,
                     shapes: ModelShapes) -> tf.Tensor:
    """Mean of (mixture - accompaniment - voice)^2 in *linear* magnitude over the 257 STFT bins.

    ``mix_input`` is the separator input ``[B, input_freq, input_time, 1]``; the estimates are its outputs
    ``[B, output_freq, output_time, 1]`` (log1p magnitudes).
    """
    mix = mixture_magnitude(mix_input, shapes)
    acc = denorm(crop_output_to_stft(acc_est[..., 0], shapes))
    voice = denorm(crop_output_to_stft(voice_est[..., 0], shapes))
    return tf.reduce_mean(tf.square(mix - acc - voice))


class AdversarialTrainer(tf.Module):
    """Holds the separator, one critic per source and their optimisers, and compiles the adversarial step."""

    def __init__(self, model_config: dict, separator: keras.Model | None = None) -> None:
        super().__init__(name="adversarial_trainer")
        self.model_config = model_config
        self.shapes = get_shapes(model_config)
        self.separator = separator if separator is not None else build_separator(model_config)
        self.critics = {source: build_critic(model_config, name=f"critic_{source}") for source in SOURCES}
        self.sep_optimizer = keras.optimizers.Adam(learning_rate=model_config["init_unsup_sep_lr"])
        self.critic_optimizers = {source: keras.optimizers.Adam(learning_rate=model_config["init_disc_lr"])
                                  for source in SOURCES}
        self.num_disc = int(model_config["num_disc"])
        if self.num_disc < 1:
            raise ValueError(f"model_config: num_disc must be >= 1, got {self.num_disc}")
        self.alpha = float(model_config["alpha"])
        self.beta = float(model_config["beta"])
        self.lam = float(model_config["lam"])
        self.one_sided = bool(model_config["one_sided_gp"])

    def trackables(self) -> dict[str, tf.Module]:
        """Everything the checkpoint holds, so that resume is exact."""
        return {"model": self.separator, "optimizer": self.sep_optimizer,
                "critic_accompaniment": self.critics["accompaniment"], "critic_voice": self.critics["voice"],
                "critic_optimizer_accompaniment": self.critic_optimizers["accompaniment"],
                "critic_optimizer_voice": self.critic_optimizers["voice"]}

    def critic_update(self, mix: tf.Tensor, acc_real: tf.Tensor, voice_real: tf.Tensor) -> dict[str, tf.Tensor]:
        """One update of each critic on one unpaired batch; returns per-critic scalars."""
        acc_est, voice_est = self.separator(mix, training=False)
        fakes = {"accompaniment": _critic_input(acc_est, self.shapes),
                 "voice": _critic_input(voice_est, self.shapes)}
        reals = {"accompaniment": acc_real, "voice": voice_real}
        logs = {}
        for source in SOURCES:
            critic = self.critics[source]
            with tf.GradientTape() as tape:
                d_real = critic(reals[source], training=True)
                d_fake = critic(fakes[source], training=True)
                gp = gradient_penalty(lambda x, c=critic: c(x, training=True), reals[source], fakes[source],
                                      one_sided=self.one_sided)
                loss = critic_loss(d_real, d_fake, gp, self.lam)
            grads = tape.gradient(loss, critic.trainable_variables)
            self.critic_optimizers[source].apply_gradients(zip(grads, critic.trainable_variables, strict=True))
            logs.update({f"critic_{source}/loss": loss, f"critic_{source}/d_real": tf.reduce_mean(d_real),
                         f"critic_{source}/d_fake": tf.reduce_mean(d_fake),
                         f"critic_{source}/wasserstein": tf.reduce_mean(d_real) - tf.reduce_mean(d_fake),
                         f"critic_{source}/gradient_penalty": gp})
        return logs

    def separator_update(self, sup: tuple[tf.Tensor, ...], mix_unsup: tf.Tensor) -> dict[str, tf.Tensor]:
        """One separator update: supervised MSE + alpha * L_u + beta * additive penalty."""
        mix, acc, voice = sup
        with tf.GradientTape() as tape:
            acc_est, voice_est = self.separator(mix, training=True)
            sup_loss = separation_loss(acc_est, voice_est, acc, voice)
            acc_u, voice_u = self.separator(mix_unsup, training=True)
            l_u = -tf.reduce_mean(self.critics["voice"](_critic_input(voice_u, self.shapes), training=False)) \
                - tf.reduce_mean(self.critics["accompaniment"](_critic_input(acc_u, self.shapes), training=False))
            add = additive_penalty(mix_unsup, acc_u, voice_u, self.shapes)
            loss = sup_loss + self.alpha * l_u + self.beta * add
        variables = self.separator.trainable_variables
        grads = tape.gradient(loss, variables)
        self.sep_optimizer.apply_gradients(zip(grads, variables, strict=True))
        return {"loss": loss, "supervised_loss": sup_loss, "adversarial_loss": l_u, "additive_penalty": add}

    def make_step(self, paired: tf.data.Dataset, unpaired: tf.data.Dataset) -> Callable[[], dict[str, tf.Tensor]]:
        """Return a callable running one compiled adversarial step on the next batches of both datasets."""
        paired_it, unpaired_it = iter(paired), iter(unpaired)

        @tf.function
        def step() -> dict[str, tf.Tensor]:
            # The first critic update defines the structure of the logged values for the graph loop.
            critic_logs = self.critic_update(*next(unpaired_it))
            for _ in tf.range(self.num_disc - 1):
                critic_logs = self.critic_update(*next(unpaired_it))
            mix_unsup, _, _ = next(unpaired_it)
            logs = self.separator_update(next(paired_it), mix_unsup)
            logs.update(critic_logs)
            return logs

        return step


def train_semisupervised(model_config: dict, dataset: dict, experiment_id: int | str, cache: AudioCache,
                         init_checkpoint: str | None = None, resume_from: str | None = None,
                         progress: bool = True) -> PhaseResult:
    """Train separator and critics adversarially; early stopping on the supervised validation loss.

    Args:
        init_checkpoint: a supervised checkpoint to start the separator from (``init_from_supervised``);
            None trains from scratch, as in the paper.
        resume_from: a semi-supervised checkpoint to resume exactly (critics and optimisers included).
    """
    trainer = AdversarialTrainer(model_config)
    if init_checkpoint and not resume_from:
        tf.train.Checkpoint(model=trainer.separator).restore(init_checkpoint).expect_partial()
        logger.info("semisup: separator initialised from %s", init_checkpoint)
    shapes = trainer.shapes
    seed = int(model_config["seed"])
    paired = make_paired_dataset(dataset["train_sup"], model_config, shapes, cache, seed)
    unpaired = make_unpaired_dataset(*dataset["train_unsup"], model_config, shapes, cache, seed + 1)
    step = trainer.make_step(paired, unpaired)
    valid = dataset["train_valid"]

    def validate() -> float:
        return track_loss(trainer.separator, valid, cache, model_config, shapes)

    summarise = make_summariser(trainer.separator, valid[0], cache, model_config, shapes) if valid else None
    return run_phase("semisup", model_config, experiment_id, trainer.trackables(), step, validate, summarise,
                     resume_from=resume_from, progress=progress)

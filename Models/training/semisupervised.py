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

from Input.excerpts import paired_waves, unpaired_waves
from Models.config import ModelSpec, TrainConfig
from Models.nets.checkpoint_files import restore_checkpoint
from Models.nets.critic import critic_loss, gradient_penalty
from Models.nets.factory import build_critic, build_separator, dtype_policy
from Models.nets.geometry import critic_input, crop_input_to_output, crop_output_to_stft
from Models.nets.shapes import ModelShapes, get_shapes
from Models.nets.spectrogram import denorm
from Models.training.checkpoints import PhaseResult
from Models.training.distribute import (
    compile_fn,
    distribute,
    get_strategy,
    make_optimizer,
    reduce_logs,
    replica_share,
    scaled_gradients,
)
from Models.training.features import excerpt_plan, paired_features, unpaired_features
from Models.training.loop import TrainingPhase, TrainingRun, run_phase
from Models.training.summaries import make_summariser, summarise_critic_view
from Models.training.supervised import distributed_input, separation_loss, track_loss
from Sample import SOURCES

logger = logging.getLogger(__name__)


def mixture_magnitude(mix_input: tf.Tensor, shapes: ModelShapes) -> tf.Tensor:
    """Linear mixture magnitude under the separator's output: ``[B, input_freq, input_time, 1]`` log1p input ->
    ``[B, 257, output_time]`` (the unpadded bins, centre frames)."""
    return denorm(crop_input_to_output(mix_input[..., 0], shapes))


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
    """Holds the separator, one critic per source and their optimisers, and compiles the adversarial step.

    All models and optimisers are created under ``strategy``'s scope and ``train.mixed_precision``; ``train`` also
    gives the learning rates, the loss weights, ``num_disc``, the gain range and the seed of the random draws.
    """

    def __init__(self, spec: ModelSpec, train: TrainConfig, separator: keras.Model | None = None,
                 strategy: tf.distribute.Strategy | None = None) -> None:
        super().__init__(name="adversarial_trainer")
        self.spec, self.train = spec, train
        self.shapes = get_shapes(spec)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.num_disc = train.num_disc
        if self.num_disc < 1:
            raise ValueError(f"model_config: num_disc must be >= 1, got {self.num_disc}")
        with self.strategy.scope(), dtype_policy(train.mixed_precision):
            self.separator = separator if separator is not None else build_separator(spec)
            self.critics = {source: build_critic(spec, name=f"critic_{source}") for source in SOURCES}
            self.sep_optimizer = make_optimizer(train.init_unsup_sep_lr, train.mixed_precision)
            self.critic_optimizers = {source: make_optimizer(train.init_disc_lr, train.mixed_precision)
                                      for source in SOURCES}
            # The gradient penalty's random draws, checkpointed so that a resumed run continues them exactly.
            self.penalty_rng = tf.random.Generator.from_seed(train.seed)
            # The unlabelled excerpts' random gains (unsup_gain_range; None in runs made before it existed).
            self.gain_range = train.unsup_gain_range
            self.gain_rng = tf.random.Generator.from_seed(train.seed + 1) if self.gain_range else None
            # Slots now, not in the step's first trace (which would then trace twice).
            self.sep_optimizer.build(self.separator.trainable_variables)
            for source in SOURCES:
                self.critic_optimizers[source].build(self.critics[source].trainable_variables)
        self.alpha, self.beta, self.lam, self.one_sided = train.alpha, train.beta, train.lam, train.one_sided_gp

    def trackables(self) -> dict[str, tf.Module]:
        """Everything the checkpoint holds, so that resume is exact."""
        return {"model": self.separator, "optimizer": self.sep_optimizer,
                "critic_accompaniment": self.critics["accompaniment"], "critic_voice": self.critics["voice"],
                "critic_optimizer_accompaniment": self.critic_optimizers["accompaniment"],
                "critic_optimizer_voice": self.critic_optimizers["voice"], "penalty_rng": self.penalty_rng,
                **({"gain_rng": self.gain_rng} if self.gain_rng is not None else {})}

    def features(self) -> tuple[Callable, Callable]:
        """``(paired_features, unpaired_features)`` run inside the step: the unpaired excerpts get their random
        gains (``unsup_gain_range``) from :attr:`gain_rng`; the paired, supervised examples are not scaled."""
        return paired_features(self.spec), unpaired_features(self.spec, self.gain_rng, self.gain_range)

    def _separate(self, mix: tf.Tensor, training: bool) -> tuple[tf.Tensor, tf.Tensor]:
        """Separator outputs in float32 (whatever the compute precision)."""
        acc, voice = self.separator(mix, training=training)
        return tf.cast(acc, tf.float32), tf.cast(voice, tf.float32)

    def penalty_draws(self, real: tf.Tensor) -> dict[str, tf.Tensor]:
        """The gradient penalty's shuffle of the real batch and its interpolation weights, ``[batch]`` each,
        drawn from the checkpointed generator (so that a resumed run draws what an uninterrupted one would)."""
        batch = tf.shape(real)[:1]
        return {"permutation": tf.argsort(self.penalty_rng.uniform(batch)), "weights": self.penalty_rng.uniform(batch)}

    def critic_gradients(self, mix: tf.Tensor, acc_real: tf.Tensor, voice_real: tf.Tensor,
                         global_batch: int) -> tuple[dict[str, list[tf.Tensor]], dict[str, tf.Tensor]]:
        """Gradients of both critics' WGAN-GP losses on one unpaired (per-replica) batch, and their scalars.

        The separator runs once (no gradient) for both critics; each critic scores real and fake examples in
        one call. Losses and scalars are this replica's share of the global-batch means.
        """
        share = replica_share(mix, global_batch)
        acc_est, voice_est = self._separate(mix, training=False)
        fakes = {"accompaniment": critic_input(acc_est, self.shapes),
                 "voice": critic_input(voice_est, self.shapes)}
        reals = {"accompaniment": acc_real, "voice": voice_real}
        grads, logs = {}, {}
        for source in SOURCES:
            critic = self.critics[source]

            def score(x: tf.Tensor, c: keras.Model = critic) -> tf.Tensor:
                return tf.cast(c(x, training=True), tf.float32)

            with tf.GradientTape() as tape:
                d_real, d_fake = tf.split(score(tf.concat([reals[source], fakes[source]], 0)), 2)
                gp = gradient_penalty(score, reals[source], fakes[source], one_sided=self.one_sided,
                                      **self.penalty_draws(reals[source]))
                loss = critic_loss(d_real, d_fake, gp, self.lam) * share
            grads[source] = scaled_gradients(tape, loss, critic.trainable_variables,
                                             self.critic_optimizers[source])
            d_real, d_fake = tf.reduce_mean(d_real) * share, tf.reduce_mean(d_fake) * share
            logs.update({f"critic_{source}/loss": loss, f"critic_{source}/d_real": d_real,
                         f"critic_{source}/d_fake": d_fake, f"critic_{source}/wasserstein": d_real - d_fake,
                         f"critic_{source}/gradient_penalty": gp * share})
        return grads, logs

    def separator_gradients(self, sup: tuple[tf.Tensor, ...], mix_unsup: tf.Tensor,
                            global_batch: int) -> tuple[list[tf.Tensor], dict[str, tf.Tensor]]:
        """Gradients of supervised MSE + alpha * L_u + beta * additive penalty, and its terms (shares of the
        global-batch means)."""
        mix, acc, voice = sup
        share = replica_share(mix, global_batch)
        variables = self.separator.trainable_variables
        with tf.GradientTape() as tape:
            acc_est, voice_est = self._separate(mix, training=True)
            sup_loss = separation_loss(acc_est, voice_est, acc, voice) * share
            acc_u, voice_u = self._separate(mix_unsup, training=True)
            scores = [tf.cast(self.critics[source](critic_input(est, self.shapes), training=False), tf.float32)
                      for source, est in zip(SOURCES, (acc_u, voice_u), strict=True)]
            l_u = -(tf.reduce_mean(scores[0]) + tf.reduce_mean(scores[1])) * share
            add = additive_penalty(mix_unsup, acc_u, voice_u, self.shapes) * share
            loss = sup_loss + self.alpha * l_u + self.beta * add
        grads = scaled_gradients(tape, loss, variables, self.sep_optimizer)
        return grads, {"loss": loss, "supervised_loss": sup_loss, "adversarial_loss": l_u, "additive_penalty": add}

    def make_step(self, paired: tf.data.Dataset | tf.distribute.DistributedDataset,
                  unpaired: tf.data.Dataset | tf.distribute.DistributedDataset,
                  features: tuple[Callable, Callable] | None = None,
                  global_batch: int | None = None) -> Callable[[], dict[str, tf.Tensor]]:
        """Return a callable running one compiled adversarial step on the next batches of both datasets.

        One step: ``num_disc`` updates of each critic, each on a fresh unpaired batch, then one separator update
        on a paired batch and the mixture of a further unpaired batch.

        Args:
            paired, unpaired: ``tf.data.Dataset``s of global batches (split over the replicas) or the
                per-replica pipelines of ``Models.training.distribute.distribute``; elements ``(mix, acc, voice)`` and
                ``(mix, acc_real, voice_real)`` spectrogram tensors, or what ``features`` turns into them.
            features: ``(paired_features, unpaired_features)`` of ``Models.training.features``, run inside the step.
            global_batch: examples per batch over all replicas (default: the static batch size of ``paired``).
        """
        strategy = self.strategy
        paired, global_batch = distributed_input(strategy, paired, global_batch)
        unpaired, _ = distributed_input(strategy, unpaired, global_batch)
        paired_fn, unpaired_fn = features or (None, None)
        paired_it, unpaired_it = iter(paired), iter(unpaired)

        def critic_grads(batch: tuple) -> tuple[dict, dict]:
            return self.critic_gradients(*(unpaired_fn(*batch) if unpaired_fn else batch), global_batch)

        def separator_grads(sup: tuple, unsup: tuple) -> tuple[list, dict]:
            sup = paired_fn(*sup) if paired_fn else sup
            mix_unsup = (unpaired_fn(*unsup) if unpaired_fn else unsup)[0]
            return self.separator_gradients(sup, mix_unsup, global_batch)

        critic_grads = compile_fn(critic_grads, self.train.train_jit_compile)
        separator_grads = compile_fn(separator_grads, self.train.train_jit_compile)

        def apply_critics(grads: dict[str, list[tf.Tensor]]) -> None:
            for source in SOURCES:
                variables = self.critics[source].trainable_variables
                self.critic_optimizers[source].apply_gradients(zip(grads[source], variables, strict=True))

        def apply_separator(grads: list[tf.Tensor]) -> None:
            self.sep_optimizer.apply_gradients(zip(grads, self.separator.trainable_variables, strict=True))

        def critic_round() -> dict[str, tf.Tensor]:
            grads, logs = strategy.run(critic_grads, args=(next(unpaired_it),))
            strategy.run(apply_critics, args=(grads,))
            return logs

        # A cross-replica gradient sum cannot sit inside a graph loop: with several replicas the critic updates
        # are unrolled; on one device a graph loop keeps the graph (and its compilation) small.
        unroll = isinstance(strategy, tf.distribute.MirroredStrategy | tf.distribute.MultiWorkerMirroredStrategy)

        @tf.function
        def step() -> dict[str, tf.Tensor]:
            critic_logs = critic_round()  # defines the structure of the loop's logged values
            for _ in range(self.num_disc - 1) if unroll else tf.range(self.num_disc - 1):
                critic_logs = critic_round()
            unsup = next(unpaired_it)
            grads, logs = strategy.run(separator_grads, args=(next(paired_it), unsup))
            strategy.run(apply_separator, args=(grads,))
            return reduce_logs(strategy, {**logs, **critic_logs})

        return step


def train_semisupervised(run: TrainingRun, init_checkpoint: str | None = None, resume: bool = False) -> PhaseResult:
    """Train separator and critics adversarially; early stopping on the supervised validation loss.

    Args:
        init_checkpoint: a supervised checkpoint to start the separator from (``init_from_supervised``);
            None trains from scratch, as in the paper. Ignored when resuming.
        resume: continue exactly from the newest checkpoint of ``<id>_semisup``, critics and optimisers
            included (see ``Models.training.loop.run_phase``).
    """
    spec, train, dataset, cache = run.config.spec, run.config.train, run.dataset, run.cache
    trainer = AdversarialTrainer(spec, train, strategy=get_strategy(train.strategy))
    if init_checkpoint and not resume:
        restore_checkpoint(tf.train.Checkpoint(model=trainer.separator), init_checkpoint, "holds no separator")
        logger.info("semisup: separator initialised from %s", init_checkpoint)
    plan = excerpt_plan(spec)
    seed = train.seed
    global_batch, workers = train.batch_size, run.config.data.num_workers

    def make_step(start_step: int) -> Callable[[], dict[str, tf.Tensor]]:
        def paired(batch: int, seeds: tuple[int, ...], skip: int) -> tf.data.Dataset:
            return paired_waves(dataset["train_sup"], plan, cache, batch_size=batch, seed=seeds, num_workers=workers,
                                skip=skip)

        def unpaired(batch: int, seeds: tuple[int, ...], skip: int) -> tf.data.Dataset:
            return unpaired_waves(dataset["train_unsup"], plan, cache, batch_size=batch, seed=seeds,
                                  num_workers=workers, skip=skip)

        # Per step: one paired batch, and num_disc critic batches plus one separator batch of unpaired data.
        # Seeds (seed, 0, pipeline): the 0 keeps the batch sequence of runs made before exact resume.
        return trainer.make_step(
            distribute(trainer.strategy, paired, global_batch, (seed, 0), start_step),
            distribute(trainer.strategy, unpaired, global_batch, (seed + 1, 0), start_step, trainer.num_disc + 1),
            trainer.features(), global_batch)

    valid = dataset["train_valid"]

    def validate() -> float:
        return track_loss(trainer.separator, valid, cache, spec)

    base = make_summariser(trainer.separator, valid[0], cache, spec, train.summary_seconds) if valid else None

    def summarise(step: int) -> None:
        if base is not None:
            base(step)
        summarise_critic_view(trainer.separator, dataset["train_unsup"], cache, spec, step)

    phase = TrainingPhase("semisup", trainer.trackables(), make_step, validate, summarise, trainer.strategy)
    return run_phase(phase, run.config, run.experiment_id, resume=resume, progress=run.progress)

"""Sacred smoke runs of Training.py with a tiny config: checkpoints, reload, resume, both phases, fallback."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from Input.synth.generate import generate_dataset, generate_unpaired
from Models.config import ExperimentConfig, ModelSpec, resolved_model_config
from Models.nets.factory import build_separator, get_shapes
from Models.nets.runs import describe_run
from Models.separation.onnx_engine import OnnxNetwork
from Models.training.supervised import SupervisedTrainer
from tests.tiny import TINY_TRAINING

TINY = TINY_TRAINING


def _typed(config: dict) -> ExperimentConfig:
    """The typed run config of the ``model_config`` updates ``config`` (Training.py's defaults otherwise)."""
    return ExperimentConfig.from_dict(resolved_model_config(**config))


def _supervised(config: dict) -> SupervisedTrainer:
    typed = _typed(config)
    return SupervisedTrainer(typed.spec, typed.train)


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    """Two train and four test demo songs of 3 s, plus unpaired songs in three disjoint groups."""
    root = tmp_path_factory.mktemp("songs")
    generate_dataset(root, num_train=2, num_test=4, seconds=3.0, seed=3, sr=8192)
    generate_unpaired(root / "unpaired", num_tracks=3, seconds=3.0, seed=4, sr=8192)
    return root


def _config(songs: Path, tmp: Path, unpaired: bool, **extra) -> dict:
    config = dict(TINY)
    config.update({
        "musdb_path": str(songs),
        "is_wav": True,
        "dataset_cache": str(tmp / "dataset.pkl"),
        "audio_cache_dir": str(tmp / "cache"),
        "moisesdb_path": str(tmp / "no_moisesdb"),
        "model_base_dir": str(tmp / "checkpoints"),
        "log_dir": str(tmp / "logs"),
        "results_dir": str(tmp / "results"),
        "unsup_mixture_dirs": [str(songs / "unpaired" / "mixtures")] if unpaired else [],
        "unsup_voice_dirs": [str(songs / "unpaired" / "voices")] if unpaired else [],
        "unsup_accompaniment_dirs": [str(songs / "unpaired" / "accompaniments")] if unpaired else [],
    })
    config.update(extra)
    return config


def _run(config: dict, experiment_id: int, tmp: Path, monkeypatch, **updates):
    from Training import ex

    monkeypatch.chdir(tmp)  # the Sacred observer writes logs/sacred relative to the working directory
    return ex.run(config_updates={"model_config": config, "experiment_id": experiment_id, **updates})


def _probe_input(spec: ModelSpec) -> np.ndarray:
    shapes = get_shapes(spec)
    rng = np.random.default_rng(0)
    return rng.random((2, shapes.input_freq, shapes.input_time, 1), dtype=np.float32)


def _record_separators(monkeypatch) -> dict:
    """Keeps the first separator each phase builds, the one it trains (the in-memory model, not a restored copy)."""
    import Models.training.semisupervised
    import Models.training.supervised

    built: dict = {}
    for phase, module in (("sup", Models.training.supervised), ("semisup", Models.training.semisupervised)):
        def build(config, _phase=phase, _build=module.build_separator):
            model = _build(config)
            built.setdefault(_phase, model)
            return model

        monkeypatch.setattr(module, "build_separator", build)
    return built


def test_both_phases_write_best_checkpoints_that_reload_the_trained_weights(songs, tmp_path, monkeypatch):
    trained = _record_separators(monkeypatch)
    # One epoch per phase: the best checkpoint is the one written at its end, so it must hold the final weights.
    config = _config(songs, tmp_path, unpaired=True, evaluate=True, max_epochs=1)
    run = _run(config, 7, tmp_path, monkeypatch)
    results = run.result
    for phase in ("sup", "semisup"):
        folder = tmp_path / "checkpoints" / f"7_{phase}"
        best = json.loads((folder / "best.json").read_text())
        prefix = folder / best["checkpoint"]
        assert results[phase]["steps"] == TINY["epoch_it"]
        assert best["checkpoint"] == f"7_{phase}-{TINY['epoch_it']}"
        assert Path(f"{prefix}.index").is_file()
        assert results[phase]["best_checkpoint"] == str(prefix)
        onnx_spec = OnnxNetwork.load(f"{prefix}.onnx").spec  # the ONNX export beside the best checkpoint
        assert onnx_spec == ModelSpec.from_dict(json.loads((folder / "model_spec.json").read_text()))
        assert np.isfinite(results[phase]["test_loss"])
        assert np.isfinite(results[phase]["median"]["voice"]["SDR"])
        described = describe_run(folder)  # the run's own record names the model for the web app's picker
        assert described.vocals_sdr == pytest.approx(results[phase]["median"]["voice"]["SDR"])
        phase_name = {"sup": "Supervised", "semisup": "Semi-supervised"}[phase]
        assert described.label.startswith(f"{phase_name} · ") and described.label.endswith(" dB SDR")
        stored = ModelSpec.from_dict(json.loads((folder / "model_spec.json").read_text()))
        model = build_separator(stored)
        fresh = [w.copy() for w in model.get_weights()]
        tf.train.Checkpoint(model=model).restore(str(prefix)).expect_partial().assert_existing_objects_matched()
        reference = trained[phase]
        assert len(model.weights) == len(reference.weights)
        for restored, original in zip(model.get_weights(), reference.get_weights(), strict=True):
            np.testing.assert_array_equal(restored, original)
        assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(), fresh, strict=True))
        x = _probe_input(stored)
        for a, b in zip(model(x), reference(x), strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    events = b"".join(f.read_bytes() for f in (tmp_path / "logs" / "7_semisup").rglob("events.out.tfevents*"))
    for tag in (b"critic_view/real/voice", b"critic_view/fake/accompaniment", b"train/critic_voice/wasserstein",
                b"train/additive_penalty", b"spectrogram/voice/estimate", b"validation/loss",
                b"learning_rate/optimizer", b"learning_rate/critic_optimizer_voice"):
        assert tag in events, tag
    assert list((tmp_path / "results").glob("7_*_results.pkl"))
    assert (tmp_path / "logs" / "sacred").is_dir()


def test_supervised_only_without_unpaired_data(songs, tmp_path, monkeypatch, caplog):
    config = _config(songs, tmp_path, unpaired=False, evaluate=False, max_epochs=1)
    with caplog.at_level(logging.INFO):
        run = _run(config, 8, tmp_path, monkeypatch)
    assert "sup" in run.result and "semisup" not in run.result
    assert "phases: supervised only, the semi-supervised phase is skipped: no unpaired mixtures" in caplog.text
    assert not (tmp_path / "checkpoints" / "8_semisup").exists()


def test_resume_skips_a_finished_phase_and_keeps_the_id(songs, tmp_path, monkeypatch):
    first = _run(_config(songs, tmp_path, unpaired=False, evaluate=False, max_epochs=1, patience=5), 9,
                 tmp_path, monkeypatch).result
    assert first["sup"]["steps"] == TINY["epoch_it"] and first["sup"]["epochs"] == 1
    # Another command line's config and id are ignored: the run's own are read from its folder.
    again = _run(_config(songs, tmp_path, unpaired=False, evaluate=False, max_epochs=4), 123, tmp_path,
                 monkeypatch, resume=str(tmp_path / "checkpoints" / "9_sup")).result
    assert again["experiment_id"] == 9 and again["sup"] == first["sup"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["9_sup"]


def test_training_loss_goes_down_on_a_fixed_batch():
    config = dict(TINY, num_fft=512, num_hop=256, output_activation="relu")
    shapes = get_shapes(_typed(config).spec)
    rng = np.random.default_rng(1)
    mix = rng.random((4, shapes.input_freq, shapes.input_time, 1), dtype=np.float32)
    acc = rng.random((4, shapes.output_freq, shapes.output_time, 1), dtype=np.float32)
    voice = rng.random((4, shapes.output_freq, shapes.output_time, 1), dtype=np.float32)
    batches = tf.data.Dataset.from_tensors((mix, acc, voice)).repeat()
    step = _supervised(dict(config, init_sup_sep_lr=1e-2)).make_step(batches)
    first = float(step()["loss"])
    for _ in range(40):
        last = float(step()["loss"])
    assert last < 0.5 * first
    assert step.experimental_get_tracing_count() == 1  # fixed shapes: no retracing


def _fixed_batch(config: dict, batch: int = 2) -> tf.data.Dataset:
    shapes = get_shapes(_typed(config).spec)
    rng = np.random.default_rng(5)
    mix = rng.random((batch, shapes.input_freq, shapes.input_time, 1), dtype=np.float32)
    out = rng.random((batch, shapes.output_freq, shapes.output_time, 1), dtype=np.float32)
    return tf.data.Dataset.from_tensors((mix, out, out * 0.5)).repeat()


def _two_losses(config: dict, weights: list) -> list[float]:
    trainer = _supervised(dict(config, init_sup_sep_lr=1e-3))
    trainer.separator.set_weights(weights)
    step = trainer.make_step(_fixed_batch(config))
    return [float(step()["loss"]) for _ in range(2)]


def test_xla_step_gives_the_same_losses():
    config = dict(TINY, num_fft=512, num_hop=256, output_activation="relu")
    weights = build_separator(_typed(config).spec).get_weights()
    plain = _two_losses(config, weights)
    xla = _two_losses(dict(config, train_jit_compile=True), weights)
    np.testing.assert_allclose(xla, plain, rtol=1e-4)
    assert plain[1] < plain[0]


def test_mixed_float16_uses_half_compute_and_loss_scaling():
    config = dict(TINY, num_fft=512, num_hop=256, output_activation="relu", mixed_precision="mixed_float16")
    trainer = _supervised(dict(config, init_sup_sep_lr=1e-3))
    model, optimizer = trainer.separator, trainer.optimizer
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after building
    assert model.compute_dtype == "float16"
    assert all(v.dtype == tf.float32 for v in model.trainable_variables)
    assert isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer)
    reference = _two_losses(dict(config, mixed_precision=False), model.get_weights())
    before = [v.numpy().copy() for v in model.trainable_variables]
    step = trainer.make_step(_fixed_batch(config))
    losses = [float(step()["loss"]) for _ in range(2)]
    assert all(isinstance(v, float) and np.isfinite(v) for v in losses)
    np.testing.assert_allclose(losses[0], reference[0], rtol=2e-2)  # float16 compute, float32 loss
    assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables, strict=True))
    assert float(optimizer.loss_scale) > 1.0


def _write_triple(folder: Path, seconds: float, seed: int, sr: int = 8192) -> tuple:
    """A mono song (noise accompaniment, tonal voice of another loudness) as mixture/accompaniment/vocals wavs."""
    import soundfile as sf

    from Input.audio.probe import probe_sample

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    acc = (0.05 + 0.1 * seed) * rng.standard_normal(t.size)
    voice = (0.4 - 0.1 * seed) * np.sin(2 * np.pi * (300 + 50 * seed) * t)
    folder.mkdir(parents=True)
    for name, signal in (("mixture", acc + voice), ("accompaniment", acc), ("vocals", voice)):
        sf.write(folder / f"{name}.wav", signal.astype(np.float32), sr, subtype="FLOAT")
    return tuple(probe_sample(folder / f"{n}.wav") for n in ("mixture", "accompaniment", "vocals"))


def _crop_model(shapes) -> keras.Model:
    """A model whose two outputs are the centre crop of its input: both estimates equal the mixture."""
    inputs = keras.Input((shapes.input_freq, shapes.input_time, 1))
    above = shapes.input_freq - shapes.freq_pad_lo - shapes.output_freq
    crop = keras.layers.Cropping2D(((shapes.freq_pad_lo, above), (shapes.context_frames,) * 2))(inputs)
    return keras.Model(inputs, [crop, crop])


@pytest.mark.parametrize("model_kind", ["mixture_as_estimate", "separator"])
def test_track_loss_is_the_frame_weighted_mean_of_log_magnitude_mse(tmp_path, model_kind):
    from Input.audio.cache import AudioCache
    from Models.separation.model_rate import predict_magnitudes
    from Models.training.features import whole_track_magnitudes
    from Models.training.supervised import track_loss
    from tests.tiny import TINY_CONFIG

    spec = TINY_CONFIG.spec
    shapes = get_shapes(spec)
    triples = [_write_triple(tmp_path / "short", 0.7, seed=1), _write_triple(tmp_path / "long", 2.9, seed=2)]
    cache = AudioCache(tmp_path / "cache", sr=8192, mono=True, dtype="float32")
    model = _crop_model(shapes) if model_kind == "mixture_as_estimate" else build_separator(spec)

    losses, frames = [], []
    for triple in triples:
        mix, acc, voice = (np.log1p(m.astype(np.float64)) for m in whole_track_magnitudes(triple, cache, spec))
        if model_kind == "mixture_as_estimate":
            acc_est = voice_est = mix
        else:
            acc_est, voice_est = predict_magnitudes(model, mix.astype(np.float32), shapes, 4)
            assert np.abs(acc_est - voice_est).max() > 0.01  # the two estimates differ
        losses.append(np.mean((acc_est - acc) ** 2) + np.mean((voice_est - voice) ** 2))
        frames.append(mix.shape[-1])
    assert frames[0] == 1 + int(0.7 * 8192) // 256 and frames[1] == 1 + int(2.9 * 8192) // 256
    expected = float(np.dot(losses, frames) / np.sum(frames))
    assert abs(losses[0] - losses[1]) > 0.05 * expected  # an unweighted mean over tracks would differ

    assert track_loss(model, triples, cache, spec) == pytest.approx(expected, rel=1e-4)
    assert track_loss(model, triples[:1], cache, spec) == pytest.approx(losses[0], rel=1e-4)
    with pytest.raises(ValueError, match="no tracks"):
        track_loss(model, [], cache, spec)


class _Stop(Exception):
    """Raised to end a run once the semi-supervised phase is initialised."""


def test_init_from_supervised_starts_the_separator_from_the_best_supervised_weights(songs, tmp_path, monkeypatch):
    import Models.training.semisupervised

    captured = {}

    def stop_at_start(phase, *args, **kwargs):
        captured["weights"] = [w.copy() for w in phase.trackables["model"].get_weights()]
        raise _Stop

    monkeypatch.setattr(Models.training.semisupervised, "run_phase", stop_at_start)
    config = _config(songs, tmp_path, unpaired=True, evaluate=False, max_epochs=1, init_from_supervised=True)
    with pytest.raises(_Stop):
        _run(config, 11, tmp_path, monkeypatch)
    folder = tmp_path / "checkpoints" / "11_sup"
    prefix = folder / json.loads((folder / "best.json").read_text())["checkpoint"]
    supervised = build_separator(ModelSpec.from_dict(json.loads((folder / "model_spec.json").read_text())))
    fresh = [w.copy() for w in supervised.get_weights()]
    tf.train.Checkpoint(model=supervised).restore(str(prefix)).expect_partial().assert_existing_objects_matched()
    assert len(captured["weights"]) == len(fresh)
    for got, want in zip(captured["weights"], supervised.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert any(not np.array_equal(a, b) for a, b in zip(captured["weights"], fresh, strict=True))


def test_mixed_bfloat16_trains_with_float32_variables_and_bfloat16_compute():
    config = dict(TINY, num_fft=512, num_hop=256, output_activation="relu", mixed_precision="mixed_bfloat16")
    trainer = _supervised(dict(config, init_sup_sep_lr=1e-3))
    model = trainer.separator
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after building
    assert model.compute_dtype == "bfloat16" and model.variable_dtype == "float32"
    assert all(v.dtype == tf.float32 for v in model.trainable_variables)
    shapes = get_shapes(_typed(config).spec)
    assert all(out.dtype == tf.bfloat16 for out in model(tf.zeros((1, shapes.input_freq, shapes.input_time, 1))))
    before = [v.numpy().copy() for v in model.trainable_variables]
    step = trainer.make_step(_fixed_batch(config))
    logs = [step() for _ in range(2)]
    assert all(entry["loss"].dtype == tf.float32 and np.isfinite(float(entry["loss"])) for entry in logs)
    assert all(v.dtype == tf.float32 for v in model.trainable_variables)
    assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables, strict=True))

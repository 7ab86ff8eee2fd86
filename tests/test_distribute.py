"""tf.distribute: two training steps under MirroredStrategy on two logical CPU devices keep the replicas in sync
and give the one-device losses for the same global batch; two MultiWorkerMirroredStrategy workers on localhost
end with the same weights. Each runs in a fresh interpreter (logical devices and the multi-worker runtime must be
set up before any other TensorFlow work)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

COMMON = r"""
import json, os, sys
import numpy as np
import tensorflow as tf
import tf_keras as keras
from Models.training.semisupervised import AdversarialTrainer
from Models.config import ExperimentConfig, resolved_model_config
from Models.training.distribute import get_strategy
from Models.nets.shapes import get_shapes
from Models.training.supervised import SupervisedTrainer

CONFIG = ExperimentConfig.from_dict(resolved_model_config(
    num_fft=512, num_hop=256, num_frames=8, num_layers=1, num_initial_filters=2, output_activation="relu",
    critic_initial_filters=2, init_sup_sep_lr=1e-2, init_unsup_sep_lr=1e-3, init_disc_lr=1e-6, num_disc=2,
    alpha=0.1, beta=0.01, lam=0.0, one_sided_gp=True, batch_size=4, seed=0, unsup_gain_range=None))
SPEC, TRAIN = CONFIG.spec, CONFIG.train
SHAPES = get_shapes(SPEC)


def batches(seed, count=2, batch=4):
    rng = np.random.default_rng(seed)
    mix = rng.random((count, batch, SHAPES.input_freq, SHAPES.input_time, 1), dtype=np.float32)
    out = rng.random((count, batch, SHAPES.output_freq, SHAPES.output_time, 1), dtype=np.float32)
    real = rng.random((count, batch, SHAPES.disc_freq, SHAPES.disc_time, 1), dtype=np.float32)
    paired = tf.data.Dataset.from_tensor_slices((mix, out, out[:, ::-1])).repeat()
    unpaired = tf.data.Dataset.from_tensor_slices((mix[:, ::-1], real, real * 0.5)).repeat()
    return paired, unpaired


def supervised(strategy, weights=None):
    # Two supervised steps; returns the model, its initial weights and the two losses.
    trainer = SupervisedTrainer(SPEC, TRAIN, strategy)
    if weights is not None:
        trainer.separator.set_weights(weights)
    init = trainer.separator.get_weights()
    step = trainer.make_step(batches(0)[0])
    return trainer.separator, init, [float(step()["loss"]) for _ in range(2)]
"""

MIRRORED = COMMON + r"""
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
mirrored = get_strategy("mirrored")
one = tf.distribute.get_strategy()


def in_sync(variables):
    return all(np.array_equal(v.values[0].numpy(), v.values[1].numpy()) for v in variables)


model, init, sup_losses = supervised(mirrored)
ref_model, _, ref_losses = supervised(one, init)
out = {"replicas": mirrored.num_replicas_in_sync, "sup": sup_losses, "sup_ref": ref_losses,
       "sup_sync": in_sync(model.variables),
       "sup_weights_diff": max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(),
                                                                          ref_model.get_weights()))}

trainer = AdversarialTrainer(SPEC, TRAIN, strategy=mirrored)
reference = AdversarialTrainer(SPEC, TRAIN)
reference.separator.set_weights(trainer.separator.get_weights())
for source in ("accompaniment", "voice"):
    reference.critics[source].set_weights(trainer.critics[source].get_weights())
step, ref_step = trainer.make_step(*batches(1)), reference.make_step(*batches(1))
logs = [{k: float(v) for k, v in step().items()} for _ in range(2)]
ref_logs = [{k: float(v) for k, v in ref_step().items()} for _ in range(2)]
variables = trainer.separator.variables + [v for c in trainer.critics.values() for v in c.variables]
out.update({"adv": logs, "adv_ref": ref_logs, "adv_sync": in_sync(variables),
            "critic_iterations": int(trainer.critic_optimizers["voice"].iterations.numpy())})

from Models.training.distribute import distribute
calls = []


def pipeline(batch, seed, skip):
    calls.append([batch, list(seed), skip])
    return tf.data.Dataset.range(1000).batch(batch)


first = next(iter(distribute(mirrored, pipeline, 4, (5, 7), skip_steps=3, batches_per_step=2)))
out.update({"pipeline_calls": calls, "per_replica": [v.numpy().tolist() for v in first.values]})
print("RESULT " + json.dumps(out), flush=True)
os._exit(0)  # skip the interpreter's slow teardown of the strategy and pipelines
"""

WORKER = COMMON + r"""
strategy = get_strategy("multi_worker")
from Models.training.distribute import is_chief
keras.utils.set_random_seed(0)
model, _, losses = supervised(strategy)
print("RESULT " + json.dumps({"chief": is_chief(strategy), "replicas": strategy.num_replicas_in_sync,
                              "losses": losses, "checksum": float(sum(np.abs(w).sum() for w in model.get_weights()))}),
      flush=True)
os._exit(0)  # skip the interpreter's slow teardown of the strategy
"""


def _env(**extra: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    return env | extra


def _result(output: str) -> dict:
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert lines, output[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_mirrored_two_cpu_replicas_match_one_device():
    run = subprocess.run([sys.executable, "-c", MIRRORED], cwd=ROOT, env=_env(), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    out = _result(run.stdout)
    assert out["replicas"] == 2
    # Supervised: the global-batch mean over 2 replicas x 2 examples equals the one-device loss, both steps.
    np.testing.assert_allclose(out["sup"], out["sup_ref"], rtol=1e-4)
    assert out["sup"][0] != out["sup"][1]  # the second step saw updated weights and another batch
    assert out["sup_sync"]
    assert out["sup_weights_diff"] < 1e-4
    # Adversarial (lam = 0 makes the step deterministic): every loss term equals the one-device value. Adam
    # divides by the gradients' magnitude, so the critics' tiny initial gradients turn float summation-order
    # differences (2 x 2 examples vs 4) into sign flips of whole updates; with the critics' learning rate at 1e-6
    # (CONFIG) those stay far below the tolerance (at 1e-3 they had moved the adversarial loss by 30 % in one run).
    for logs, ref in zip(out["adv"], out["adv_ref"], strict=True):
        for key in ("loss", "supervised_loss", "adversarial_loss", "additive_penalty", "critic_voice/loss",
                    "critic_accompaniment/wasserstein"):
            np.testing.assert_allclose(logs[key], ref[key], rtol=2e-3, atol=1e-6, err_msg=key)
        np.testing.assert_allclose(logs["supervised_loss"], ref["supervised_loss"], rtol=1e-4)
    assert out["adv_sync"]
    assert out["critic_iterations"] == 2 * 2  # num_disc updates per step, two steps
    # Training input: one pipeline per worker, seeded (seed, step, pipeline id), of per-replica batches that
    # the replicas take in turn.
    # One pipeline for the two local replicas: it skips 3 steps x 2 batches x 2 replicas.
    assert out["pipeline_calls"] == [[2, [5, 7, 0], 12]]
    assert out["per_replica"] == [[0, 1], [2, 3]]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_multi_worker_from_tf_config_keeps_workers_in_sync():
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        procs.append(subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=_env(TF_CONFIG=tf_config),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]
        outs.append(_result(stdout))
    assert [o["chief"] for o in outs] == [True, False]
    assert all(o["replicas"] == 2 for o in outs)
    np.testing.assert_allclose(outs[0]["losses"], outs[1]["losses"], rtol=1e-6)
    np.testing.assert_allclose(outs[0]["checksum"], outs[1]["checksum"], rtol=1e-6)

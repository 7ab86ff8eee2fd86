"""BSS evaluation: metrics of given estimates, silent references, IRM oracle, results files and the CLI."""

from __future__ import annotations

import json
import logging
import math
import pickle
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from Evaluate import score_estimates
from Input.audio.probe import probe_sample
from Models.config import ExperimentConfig
from Models.evaluation.bss_eval import EvaluationOptions, bss_evaluate, track_name
from Models.evaluation.metrics import aggregate, irm_estimates, museval_scores, scale_optimised_snr, windows
from Models.nets.checkpoint_files import write_run_files
from Models.nets.factory import build_separator
from Models.separation.options import SeparationOptions
from Sample import Sample
from tests.tiny import TINY_MODEL
from Utils import EXIT_STATUS

REPO = Path(__file__).resolve().parents[1]
TINY = TINY_MODEL


def sources(seconds: float = 3.0, sr: int = 8192, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Accompaniment (low chords + noise) and voice (harmonic tone with vibrato), ``[samples]`` each."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    acc = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (110.0, 164.8, 220.0)) + 0.01 * rng.standard_normal(
        t.size
    )
    f0 = 440.0 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voice = sum(0.1 / k * np.sin(k * phase) for k in range(1, 6)) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    return acc.astype(np.float32), voice.astype(np.float32)


def write_track(folder: Path, acc: np.ndarray, voice: np.ndarray, sr: int, channels: int = 1) -> tuple:
    folder.mkdir(parents=True, exist_ok=True)
    for name, signal in (("accompaniment", acc), ("vocals", voice), ("mixture", acc + voice)):
        sf.write(folder / f"{name}.wav", np.stack([signal] * channels, axis=1), sr, subtype="FLOAT")
    return tuple(probe_sample(folder / f"{n}.wav") for n in ("mixture", "accompaniment", "vocals"))


def write_checkpoint(folder: Path, model_config: dict) -> str:
    """A run folder in the trainer's layout for a run's ``model_config``; the tiny model's weights are seeded
    (numpy) so results repeat."""
    config = ExperimentConfig.from_dict(model_config)
    model = build_separator(config.spec)
    rng = np.random.default_rng(0)
    for weight in model.weights:
        weight.assign(rng.normal(0.05, 0.3, size=weight.shape).astype(np.float32))
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / f"{folder.name}-5"
    tf.train.Checkpoint(model=model).write(str(prefix))
    write_run_files(folder, config)
    (folder / "best.json").write_text(json.dumps({"checkpoint": prefix.name}))
    return str(prefix)


def test_perfect_estimate_scores_very_high() -> None:
    acc, voice = sources()
    refs = {"accompaniment": acc, "voice": voice}
    scores = score_estimates(refs, refs, acc + voice, 8192)
    for source in ("accompaniment", "voice"):
        assert scores[source]["SDR"] > 60 and scores[source]["SIR"] > 60 and scores[source]["SNR"] > 60
        assert scores[source]["NSDR"] > 50


def test_mixture_as_estimate_has_zero_improvement() -> None:
    acc, voice = sources(seed=1)
    mix = acc + voice
    scores = score_estimates(
        {"accompaniment": acc, "voice": voice}, {"accompaniment": mix, "voice": mix}, mix, 8192
    )
    for source in ("accompaniment", "voice"):
        for metric in ("NSDR", "NSIR", "NSNR"):
            assert scores[source][metric] == pytest.approx(0.0, abs=1e-9)
        assert math.isfinite(scores[source]["SDR"])
    # The louder source is closer to the mixture.
    assert scores["accompaniment"]["SDR"] > scores["voice"]["SDR"]


def test_irm_oracle_beats_the_mixture() -> None:
    acc, voice = sources(seed=2)
    mix = acc + voice
    refs = {"accompaniment": acc, "voice": voice}
    ideal = irm_estimates(mix, refs)
    assert all(v.shape == mix.shape for v in ideal.values())
    np.testing.assert_allclose(ideal["accompaniment"] + ideal["voice"], mix, atol=1e-4)
    scores = score_estimates(refs, ideal, mix, 8192)
    for source in ("accompaniment", "voice"):
        assert scores[source]["NSDR"] > 5 and scores[source]["NSNR"] > 5


def test_irm_oracle_takes_each_channel_on_its_own() -> None:
    (acc_l, voice_l), (acc_r, voice_r) = sources(seed=2), sources(seed=3)
    stereo = {"accompaniment": np.stack([acc_l, acc_r]), "voice": np.stack([voice_l, voice_r])}
    ideal = irm_estimates(stereo["accompaniment"] + stereo["voice"], stereo)
    right = irm_estimates(acc_r + voice_r, {"accompaniment": acc_r, "voice": voice_r})
    for source in ("accompaniment", "voice"):
        assert ideal[source].shape == stereo[source].shape
        np.testing.assert_allclose(ideal[source][1], right[source], atol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        irm_estimates(acc_l + voice_l, stereo)


def test_scale_optimised_snr() -> None:
    rng = np.random.default_rng(3)
    s, n = rng.standard_normal(10000), rng.standard_normal(10000)
    n -= s * np.dot(s, n) / np.dot(s, s)  # orthogonal noise: alpha * (s + n) error is known in closed form
    e = 3.0 * (s + 0.1 * n)
    alpha = np.dot(s, e) / np.dot(e, e)
    expected = 10 * np.log10(np.dot(s, s) / np.sum((s - alpha * e) ** 2))
    assert scale_optimised_snr(s, e) == pytest.approx(expected)
    assert scale_optimised_snr(s, 0.5 * s) == pytest.approx(300.0)  # scale-invariant, capped
    assert math.isnan(scale_optimised_snr(s, np.zeros_like(s)))
    assert math.isnan(scale_optimised_snr(np.zeros_like(s), s))


def test_windows_partition_the_track() -> None:
    spans = windows(8192 * 100, 8192, 30.0)
    assert spans == [(0, 245760), (245760, 491520), (491520, 819200)]  # 10 s remainder joins the last
    assert windows(8192 * 80, 8192, 30.0)[-1] == (491520, 655360)  # 20 s remainder stays on its own
    assert windows(1000, 8192, None) == [(0, 1000)]


def test_silent_reference_warns_and_is_left_out(caplog: pytest.LogCaptureFixture) -> None:
    acc, _ = sources(seed=4)
    silent = np.zeros_like(acc)
    with caplog.at_level(logging.WARNING):
        scores = score_estimates(
            {"accompaniment": acc, "voice": silent},
            {"accompaniment": acc * 0.9, "voice": np.zeros_like(acc)},
            acc,
            8192,
            track="Some Song",
        )
    assert any(
        "Some Song" in r.getMessage() and "voice" in r.getMessage() and "silent" in r.getMessage()
        for r in caplog.records
    )
    assert all(math.isnan(v) for v in scores["voice"].values())
    assert math.isfinite(scores["accompaniment"]["SDR"]) and scores["accompaniment"]["SDR"] > 40
    assert math.isnan(scores["accompaniment"]["SIR"])  # nothing can interfere
    other = {"accompaniment": {"SDR": 2.0}, "voice": {"SDR": 4.0}}
    summary = aggregate([scores, other])
    assert summary["median"]["voice"]["SDR"] == 4.0 and summary["count"]["voice"]["SDR"] == 1


def test_partly_silent_reference_and_silent_estimate_do_not_crash(caplog: pytest.LogCaptureFixture) -> None:
    acc, voice = sources(seconds=8.0, seed=5)
    voice[: 8192 * 4] = 0.0  # the first window (of 2 s) is silent
    mix = acc + voice
    with caplog.at_level(logging.WARNING):
        scores = score_estimates(
            {"accompaniment": acc, "voice": voice},
            {"accompaniment": mix, "voice": np.zeros_like(mix)},
            mix,
            8192,
            window_seconds=2.0,
            track="T",
        )
    assert any("silent in 2 of 4 windows" in r.getMessage() for r in caplog.records)
    assert (
        math.isfinite(scores["voice"]["SDR"]) and scores["voice"]["SDR"] < -10
    )  # silent estimate: a failure


def test_museval_handles_silent_reference_and_estimate() -> None:
    acc, voice = sources(seconds=3.0, sr=8000, seed=6)
    refs = {"accompaniment": np.stack([acc, acc]), "voice": np.zeros((2, acc.size))}
    ests = {"accompaniment": np.stack([acc, acc]) * 0.8, "voice": np.zeros((2, acc.size))}
    scores = museval_scores(refs, ests, 8000)
    assert scores["accompaniment"]["SDR"] == pytest.approx(20 * np.log10(1 / 0.2), abs=0.01)  # image gain
    assert all(math.isnan(v) for v in scores["voice"].values())
    assert math.isnan(scores["accompaniment"]["SIR"])  # one source: no interference to measure (museval: +inf)
    other = museval_scores({**refs, "voice": np.stack([voice, voice])}, ests, 8000)["accompaniment"]["SIR"]
    assert aggregate([{"accompaniment": {"SIR": math.inf}}, {"accompaniment": {"SIR": other}}])["median"][
        "accompaniment"]["SIR"] == pytest.approx(other)  # an infinity is left out, as the count leaves it out
    refs["voice"] = np.stack([voice, voice])
    scores = museval_scores(refs, ests, 8000)
    assert math.isfinite(scores["voice"]["SDR"]) and scores["voice"]["SDR"] < 0


def test_track_name() -> None:
    assert (
        track_name("datasets/MUSDB18/test/Al James - Schoolboy Facination/mixture.wav")
        == "Al James - Schoolboy Facination"
    )
    assert track_name("x/song.flac") == "song"


def test_bss_evaluate_end_to_end(tmp_path: Path) -> None:
    triples = []
    for i in range(2):
        acc, voice = sources(seconds=2.5, sr=16000, seed=10 + i)
        triples.append(write_track(tmp_path / "data" / f"track{i}", acc, voice, 16000, channels=2))
    dataset = {"train_sup": [], "train_valid": [], "train_test": triples, "train_unsup": [[], [], []]}
    prefix = write_checkpoint(tmp_path / "ck" / "3_sup", TINY)
    options = EvaluationOptions(tmp_path / "res", oracle="irm", museval=True, progress=False)
    results = bss_evaluate(dataset, prefix, options, data_name="Tiny")
    assert len(results["tracks"]) == 2 and results["tracks"][0]["track"] == "track0"
    for source in ("accompaniment", "voice"):
        assert set(results["median"][source]) == {"SDR", "SIR", "SAR", "NSDR", "NSIR", "SNR", "NSNR"}
        assert math.isfinite(results["mean"][source]["SDR"])
        mixture_sdr = np.median([t["mixture"][source]["SDR"] for t in results["tracks"]])
        assert results["oracle"]["median"][source]["SDR"] > mixture_sdr
        assert set(results["museval"]["median"][source]) == {"SDR", "ISR", "SIR", "SAR"}
    pickle_path, plot_path = Path(results["pickle"]), Path(results["plot"])
    assert pickle_path.parent == tmp_path / "res" and "3_sup-5_Tiny_train_test" in pickle_path.name
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stored = pickle.loads(pickle_path.read_bytes())
    assert stored["tracks"][1]["scores"] == results["tracks"][1]["scores"]
    masked = EvaluationOptions(tmp_path / "res", mask=True, progress=False)
    again = bss_evaluate(dataset, prefix, masked, data_name="Tiny")
    again2 = bss_evaluate(dataset, prefix, replace(masked, precision="bfloat16"), data_name="Tiny")
    assert len({results["pickle"], again["pickle"], again2["pickle"]}) == 3
    assert "_mask_" in Path(again["pickle"]).name and "_mask_bfloat16_" in Path(again2["pickle"]).name
    assert (results["precision"], again2["precision"]) == ("float32", "bfloat16")
    assert all(Path(r["pickle"]).is_file() for r in (results, again, again2))
    assert again["estimates"] == "mask" and "oracle" not in again and "museval" not in again
    # museval at the native rate (16 kHz) applies the model as separate.py would, band options included
    full = bss_evaluate(dataset, prefix, replace(options, oracle=None, separation=SeparationOptions(
        vocals_band="full")), data_name="Tiny")
    assert (results["museval_options"]["vocals_band"], full["museval_options"]["vocals_band"]) == ("model", "full")
    assert full["median"] == results["median"]  # the model-rate scores do not depend on it
    assert full["museval"]["median"]["voice"]["SDR"] != results["museval"]["median"]["voice"]["SDR"]


def test_bss_evaluate_skips_unreadable_tracks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    acc, voice = sources(seconds=1.5, seed=12)
    good = write_track(tmp_path / "good", acc, voice, 8192)
    gone = tuple(Sample(str(tmp_path / "gone" / f"{n}.wav"), 8192, 1, 1.5) for n in ("mixture", "acc", "voc"))
    prefix = write_checkpoint(tmp_path / "6_sup", TINY)
    with caplog.at_level(logging.WARNING):
        results = bss_evaluate({"train_test": [gone, good]}, prefix, EvaluationOptions(tmp_path, progress=False))
    assert [t["track"] for t in results["tracks"]] == ["good"] and len(results["skipped"]) == 1
    assert any("gone" in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)
    with pytest.raises(ValueError, match="could be read"):
        bss_evaluate({"train_test": [gone]}, prefix, EvaluationOptions(tmp_path, progress=False))


def test_bss_evaluate_rejects_empty_partition(tmp_path: Path) -> None:
    prefix = write_checkpoint(tmp_path / "4_sup", TINY)
    with pytest.raises(ValueError, match="empty"):
        bss_evaluate({"train_test": []}, prefix, EvaluationOptions(tmp_path))


LOADER = """
from pathlib import Path
from Input.audio.probe import probe_sample

def load(data):  # the run's Input.config.DataConfig; the song is next to this module
    root = Path(__file__).parent / "song"
    triple = tuple(probe_sample(root / f"{n}.wav") for n in ("mixture", "accompaniment", "vocals"))
    return {"train_sup": [], "train_valid": [], "train_test": [triple], "train_unsup": [[], [], []]}
"""


def test_cli_uses_the_checkpoint_config(tmp_path: Path) -> None:
    acc, voice = sources(seconds=2.0, seed=7)
    write_track(tmp_path / "song", acc, voice, 8192)
    (tmp_path / "tiny_loader.py").write_text(LOADER)
    config = {
        **TINY,
        "dataset_loader": "tiny_loader:load",
        "results_dir": str(tmp_path / "results"),
    }
    prefix = write_checkpoint(tmp_path / "checkpoints" / "5_sup", config)
    result = subprocess.run(
        [sys.executable, str(REPO / "Evaluate.py"), "--checkpoint", prefix, "--oracle", "irm"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={
            "PYTHONPATH": f"{REPO}:{tmp_path}",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "CUDA_VISIBLE_DEVICES": "",
            "PATH": "/usr/bin:/bin",
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "voice SDR" in result.stderr and "oracle median" in result.stderr
    pickles = list((tmp_path / "results").glob("5_sup-5_tiny_loader_load_train_test_*.pkl"))
    assert len(pickles) == 1 and pickles[0].with_suffix(".png").is_file()
    missing = subprocess.run(
        [sys.executable, str(REPO / "Evaluate.py"), "--checkpoint", str(tmp_path / "nope")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert missing.returncode == EXIT_STATUS["checkpoint"] and "nope" in missing.stderr.strip().splitlines()[-1]
    assert "Traceback" not in missing.stderr


def test_cli_runs_without_the_training_machines_data_paths(tmp_path: Path) -> None:
    """The run config names data paths of another machine; the CLI evaluates (its own loader's data) without
    touching them, and the checkpoint folder may be a legacy one (model_config.json only)."""
    acc, voice = sources(seconds=1.5, seed=8)
    write_track(tmp_path / "song", acc, voice, 8192)
    (tmp_path / "tiny_loader.py").write_text(LOADER)
    elsewhere = "/training-machine/absent"
    config = {
        **TINY,
        "seed": 1,
        "dataset_loader": "tiny_loader:load",
        "results_dir": str(tmp_path / "results"),
        "musdb_path": f"{elsewhere}/musdb",
        "dataset_cache": f"{elsewhere}/dataset.pkl",
        "audio_cache_dir": f"{elsewhere}/cache",
        "unsup_mixture_dirs": [f"{elsewhere}/mixtures"],
        "unsup_voice_dirs": [f"{elsewhere}/voices"],
        "unsup_accompaniment_dirs": [f"{elsewhere}/accompaniments"],
        "moisesdb_path": f"{elsewhere}/moisesdb",
    }
    prefix = write_checkpoint(tmp_path / "checkpoints" / "6_sup", config)
    folder = Path(prefix).parent
    (folder / "model_spec.json").unlink()
    (folder / "run.json").unlink()
    (folder / "model_config.json").write_text(json.dumps(config))
    result = subprocess.run(
        [sys.executable, str(REPO / "Evaluate.py"), "--checkpoint", str(folder)],
        cwd=tmp_path, capture_output=True, text=True, check=False,
        env={"PYTHONPATH": f"{REPO}:{tmp_path}", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
             "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list((tmp_path / "results").glob("6_sup-5_tiny_loader_load_train_test_*.pkl"))) == 1
    assert not Path(elsewhere).exists()


def test_cli_demo_evaluates_the_latest_checkpoint_on_the_demo_songs(tmp_path: Path) -> None:
    from Input.synth.generate import generate_dataset, generate_unpaired

    demo = tmp_path / "datasets" / "demo"  # Evaluate.py --demo reads datasets/demo under the working directory
    generate_dataset(demo, num_train=1, num_test=2, seconds=2.0, seed=5, sr=8192)
    generate_unpaired(demo / "unpaired", num_tracks=1, seconds=2.0, seed=6, sr=8192)
    write_checkpoint(tmp_path / "checkpoints" / "9_sup", {**TINY, "results_dir": str(tmp_path / "results")})
    result = subprocess.run(
        [sys.executable, str(REPO / "Evaluate.py"), "--demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "generating demo songs" not in result.stderr  # the tiny demo songs in place were used
    pickles = list((tmp_path / "results").glob("9_sup-5_*_train_test_*.pkl"))
    assert len(pickles) == 1 and pickles[0].with_suffix(".png").is_file()
    stored = pickle.loads(pickles[0].read_bytes())
    demo_tracks = {p.name for p in (demo / "test").iterdir() if p.is_dir()}
    assert stored["tracks"] and {t["track"] for t in stored["tracks"]} <= demo_tracks
    assert math.isfinite(stored["median"]["voice"]["SDR"])


def test_window_defaults_to_whole_tracks_and_follows_the_run_then_the_flag() -> None:
    """Whole tracks (the paper's protocol) unless the run's eval_window_seconds or --window says otherwise."""
    from Evaluate import evaluation_window, get_parser
    from Models.config import LEGACY_VALUES, resolved_model_config

    parse = get_parser().parse_args
    assert EvaluationOptions("res").window_seconds is None and resolved_model_config()["eval_window_seconds"] is None
    assert "eval_window_seconds" not in LEGACY_VALUES  # runs older than the key: the default, whole tracks
    assert evaluation_window(parse([]), None) is None
    assert evaluation_window(parse([]), 30.0) == 30.0
    assert evaluation_window(parse(["--window", "whole"]), 30.0) is None
    assert evaluation_window(parse(["--window", "0"]), 30.0) is None
    assert evaluation_window(parse(["--window", "12.5"]), None) == 12.5
    assert evaluation_window(parse(["--window-seconds", "30"]), None) == 30.0
    with pytest.raises(SystemExit):
        parse(["--window", "half"])


def test_whole_track_scores_differ_from_the_median_over_windows() -> None:
    """A track whose estimate is clean for 2 of 3 windows: the windowed median is the clean score, the whole-track
    score (the default) is lower, so the protocol is not a no-op."""
    from Models.evaluation.metrics import track_scores

    acc, voice = sources(seconds=6.0, sr=8192, seed=3)
    noisy = voice.copy()
    noisy[8192 * 4 :] += np.random.default_rng(0).normal(0, 0.3, noisy[8192 * 4 :].shape).astype(np.float32)
    refs, ests = {"accompaniment": acc, "voice": voice}, {"accompaniment": acc + 0.01 * voice, "voice": noisy}
    whole = track_scores(refs, ests, 8192)["voice"]["SDR"]
    windowed = track_scores(refs, ests, 8192, window_seconds=2.0)["voice"]["SDR"]
    assert whole < windowed - 3.0

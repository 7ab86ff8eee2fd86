"""Fixture trees of the paper's data sets (DSD100, CCMixter, iKala, MedleyDB) in their release layouts, written
from generated songs (``Input.synth.song``): 2 s, 8192 Hz, float wavs. Shared by the loader and Training tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from Input.synth.song import generate_song

SR = 8192
SECONDS = 2.0
MEDLEY_INSTRUMENTS = {"vocals": "female singer", "drums": "drum set", "bass": "electric bass", "other": "piano"}


def song(seed: int) -> dict[str, np.ndarray]:
    """Stems ``[2, n]`` plus ``accompaniment`` (drums + bass + other)."""
    stems = generate_song(seed, SECONDS, SR)
    stems["accompaniment"] = stems["drums"] + stems["bass"] + stems["other"]
    return stems


def write(path: Path, data: np.ndarray) -> None:
    """``data`` ``[channels, n]`` (or ``[n]``) as a float wav."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(data, np.float32).T, SR, subtype="FLOAT")


def write_dsd100(root: Path, dev: int = 2, test: int = 2) -> Path:
    for subset, count, offset in (("Dev", dev, 0), ("Test", test, 100)):
        for i in range(count):
            name, stems = f"{i:03d} - Artist{subset} - Song {i}", song(offset + i)
            write(root / "Mixtures" / subset / name / "mixture.wav", stems["mixture"])
            for stem in ("vocals", "bass", "drums", "other"):
                write(root / "Sources" / subset / name / f"{stem}.wav", stems[stem])
    return root


def write_ccmixter(root: Path, count: int = 3) -> Path:
    for i in range(count):
        stems = song(200 + i)
        write(root / f"cc_song_{i}" / "mix.wav", stems["mixture"])
        write(root / f"cc_song_{i}" / "source-01.wav", stems["accompaniment"])
        write(root / f"cc_song_{i}" / "source-02.wav", stems["vocals"])
    return root


def write_ikala(root: Path, count: int = 3) -> Path:
    for i in range(count):
        stems = song(300 + i)
        write(root / "Wavfile" / f"1000{i}_chorus.wav", np.stack([stems["accompaniment"][0], stems["vocals"][0]]))
    return root


def write_medleydb(root: Path, count: int = 3, instrumental: tuple[int, ...] = (1,)) -> Path:
    """``count`` tracks; those in ``instrumental`` have no vocal stem and ``instrumental: yes``."""
    for i in range(count):
        name, stems = f"Artist{i}_Track{i}", song(400 + i)
        folder = root / "Audio" / name
        parts = [p for p in MEDLEY_INSTRUMENTS if not (i in instrumental and p == "vocals")]
        meta = {"artist": f"Artist{i}", "title": f"Track{i}", "instrumental": "yes" if i in instrumental else "no",
                "stems": {f"S{k + 1:02d}": {"component": "", "filename": f"{name}_STEM_{k + 1:02d}.wav",
                                            "instrument": MEDLEY_INSTRUMENTS[part]} for k, part in enumerate(parts)}}
        for k, part in enumerate(parts):
            write(folder / f"{name}_STEMS" / f"{name}_STEM_{k + 1:02d}.wav", stems[part])
        write(folder / f"{name}_MIX.wav", sum(stems[p] for p in parts))
        (folder / f"{name}_METADATA.yaml").write_text(yaml.safe_dump(meta))
    return root


def write_paper_tree(root: Path) -> dict[str, str]:
    """All four data sets under ``root``; returns their ``model_config`` path keys."""
    return {"dsd100_path": str(write_dsd100(root / "DSD100")),
            "ccmixter_path": str(write_ccmixter(root / "CCMixter")),
            "ikala_path": str(write_ikala(root / "iKala")),
            "medleydb_path": str(write_medleydb(root / "MedleyDB"))}

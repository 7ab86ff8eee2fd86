"""The data part of the run configuration: :class:`DataConfig` (where the data are and how they are read), the demo
songs' data keys, and the two helpers every config dataclass is built and written back with.

The user's interface is ``Training.py``'s flat ``model_config``; its defaults, with each key's meaning and unit, and
its checks are in ``Models/config.py``, which builds a :class:`DataConfig` once from the checked dict
(``Models.config.ExperimentConfig``). ``Input/`` reads only this dataclass, never the training keys.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["DEMO_DATA_CONFIG", "DataConfig", "fields_from", "fields_to_dict"]

Config = TypeVar("Config")

# model_config data keys of the demo songs, shared by the `demo` named config and `Evaluate.py --demo`.
DEMO_DATA_CONFIG: dict[str, Any] = {
    "generate_demo": True,
    "demo_path": "datasets/demo",
    "musdb_path": "datasets/demo",
    "is_wav": True,
    "dataset_loader": None,
    "dataset_cache": "datasets/demo/dataset.pkl",
    "audio_cache_dir": "datasets/demo/cache",
    "unsup_mixture_dirs": ["datasets/demo/unpaired/mixtures"],
    "unsup_voice_dirs": ["datasets/demo/unpaired/voices"],
    "unsup_accompaniment_dirs": ["datasets/demo/unpaired/accompaniments"],
    "moisesdb_path": "",  # no MoisesDB in the demo ("" disables it); the unpaired songs come from folders
}


@dataclass(frozen=True)
class DataConfig:
    """Where the data are and how they are read. Each field is the ``model_config`` key of the same name
    (documented with its unit in ``Models.config.DEFAULTS``); lists become tuples, ``None`` or ``""`` paths are off.
    """

    musdb_path: str  # MUSDB18 root (train/, test/)
    is_wav: bool  # True: MUSDB18-HQ wav folders; False: .stem.mp4 files
    moisesdb_path: str | None  # MoisesDB root for unpaired data; None/"" or absent folder: not used
    unsup_mixture_dirs: tuple[str, ...]  # folders of unlabelled mixtures (scanned recursively)
    unsup_voice_dirs: tuple[str, ...]  # folders of solo vocals
    unsup_accompaniment_dirs: tuple[str, ...]  # folders of instrumentals
    dataset_cache: str | None  # pickle of the MUSDB18 partitions; None/"": no cache
    dataset_loader: str | None  # "module:function" called with this DataConfig; None: MUSDB18
    num_labelled_tracks: int | None  # paired MUSDB18 train songs kept (the rest unpaired); None: all
    include_silent_voices: bool  # instrumentals also give an all-zero voice
    dsd100_path: str | None  # DSD100 root (named config `paper`)
    medleydb_path: str | None  # MedleyDB root; None/"": left out
    ccmixter_path: str | None  # CCMixter root; None/"": left out
    ikala_path: str | None  # iKala root; None/"": left out
    audio_cache_dir: str | None  # decoded-audio cache and the unpaired folders' probes.pkl
    cache_dtype: str  # dtype of the decoded-audio cache, "float16" or "float32"
    num_workers: int  # parallel readers (decoding, exporting, excerpt cutting)
    cache_size: int  # examples; kept for config compatibility (unused)
    duration: int  # seconds; kept for config compatibility (unused)
    min_replacement_rate: int  # kept for config compatibility (unused)
    generate_demo: bool  # generate the demo songs into demo_path first
    demo_path: str  # where the demo songs go

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> DataConfig:
        """The data keys of a flat ``model_config`` (all required; other keys are ignored)."""
        return fields_from(cls, config)

    def to_dict(self) -> dict[str, Any]:
        """The flat ``model_config`` data keys (tuples as lists, as the JSON and Sacred configs hold them)."""
        return fields_to_dict(self)


def fields_from(cls: type[Config], config: Mapping[str, Any]) -> Config:
    """An instance of the frozen config dataclass ``cls`` from the keys of ``config`` named like its fields, each
    value converted to its field's type: ``int``/``float``/``bool`` as the code reading them always converted them,
    lists to tuples (a lone string to a one-item tuple); ``None`` stays ``None``. KeyError for a missing key."""
    hints = typing.get_type_hints(cls)
    return cls(**{field.name: _convert(hints[field.name], config[field.name]) for field in dataclasses.fields(cls)})


def fields_to_dict(instance: object) -> dict[str, Any]:
    """The flat dict of a config dataclass's fields, tuples as lists (the inverse of :func:`fields_from`)."""
    return {field.name: _plain(getattr(instance, field.name)) for field in dataclasses.fields(instance)}


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(hint, types.UnionType):  # X | None; a union of several types (False or a policy name) stays
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(options) != 1:
            return value
        hint = options[0]
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_convert(item, v) for v in ([value] if isinstance(value, str) else value))
    return hint(value) if hint in (int, float, bool) else value


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, tuple) else value

"""The paper's data partition (named config ``paper``; ``dataset_loader = "Input.datasets.paper:load_paper"``), as the
authors' original code builds it:

* ``train_sup``: DSD100's 50 ``Dev`` songs;
* ``train_valid``: DSD100 ``Test`` songs ``[:25]``, plus the middle third of MedleyDB, CCMixter and iKala each;
* ``train_test``: DSD100 ``Test`` songs ``[25:]``, plus the last third of each of the three;
* ``train_unsup``: the first third of each of the three: their mixtures, accompaniments and voices (the same
  songs in all three lists, as the original).

A third is ``len(songs) // 3`` of a data set's songs in name order (the last third takes the remainder). Each data
set is read by :mod:`Input.datasets.paper_corpora` from its path in the :class:`Input.config.DataConfig` (``dsd100_path``,
``medleydb_path``, ``ccmixter_path``, ``ikala_path``); ``None`` or ``""`` leaves one of the three extra data sets out
(logged).
"""

from __future__ import annotations

import logging

from Input.config import DataConfig
from Input.datasets.partitions import UNPAIRED_PARTITION, empty_dataset, validate_dataset
from Input.datasets.paper_corpora import load_ccmixter, load_dsd100, load_ikala, load_medleydb

logger = logging.getLogger(__name__)

DSD_VALID = 25  # DSD100 Test songs [:25] validate, [25:] test


def thirds(songs: list) -> tuple[list, list, list]:
    """``(first, middle, last)`` thirds of ``songs`` as the original splits them (``n = len // 3``)."""
    n = len(songs) // 3
    return songs[:n], songs[n : 2 * n], songs[2 * n :]


def load_paper(data: DataConfig) -> dict[str, list]:
    """The dataset dict of the paper's experiment (see the module docstring)."""
    dsd = load_dsd100(data.dsd100_path)
    dataset = empty_dataset()
    dataset["train_sup"] = list(dsd["Dev"])
    dataset["train_valid"] = list(dsd["Test"][:DSD_VALID])
    dataset["train_test"] = list(dsd["Test"][DSD_VALID:])
    extra = {"MedleyDB": ("medleydb_path", lambda p: load_medleydb(p, data.include_silent_voices)),
             "CCMixter": ("ccmixter_path", load_ccmixter), "iKala": ("ikala_path", load_ikala)}
    for name, (key, load) in extra.items():
        path = getattr(data, key)
        if not path:
            logger.info("paper partition: %s left out (model_config.%s is empty)", name, key)
            continue
        unsup, valid, test = thirds(load(path))
        dataset["train_valid"] += valid
        dataset["train_test"] += test
        for role in range(3):
            dataset[UNPAIRED_PARTITION][role] += [triple[role] for triple in unsup]
        logger.info("paper partition: %s gives %d unlabelled, %d validation and %d test songs", name, len(unsup),
                    len(valid), len(test))
    return validate_dataset(dataset, source="Input.datasets.paper")

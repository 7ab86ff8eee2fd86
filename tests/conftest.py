"""Every test starts from the same random state, so model initialisations (and the results that depend on them)
are reproducible: a tiny ReLU separator is dead at initialisation for about 1 in 70 unseeded draws.

``keras.utils.set_random_seed`` is the call that fixes tf_keras's initial weights (``tf.random.set_seed`` alone
does not); a test that wants another model calls it with its own seed."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _seeded() -> None:
    import tf_keras as keras  # here, not at module level: tests without TensorFlow stay quick to collect

    keras.utils.set_random_seed(0)

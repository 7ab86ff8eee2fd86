"""The separator and everything that trains, applies and scores it, one sub-package per concern.

* ``Models.api``: :class:`Models.api.Separator`, the one separation API (load a checkpoint once, separate arrays
  or files); ``separate.py``, ``Evaluate.py``, the benchmarks and the web worker all use it.
* ``Models.nets``: the networks (U-Net, WGAN critic), their STFT front end, shape arithmetic and spectrogram
  geometry, the factory and the files beside a checkpoint that rebuild it. Add a separation network here.
* ``Models.separation``: applying a trained separator to audio: sliding windows, masks and Wiener filtering,
  resampling, streaming file to file, options and precision.
* ``Models.training``: the two training phases, their shared loop, checkpoints, early stopping, distribution,
  TensorBoard summaries, the tf.data features, and the whole experiment.
* ``Models.evaluation``: BSS Eval scores (mir_eval, museval) and the evaluation of a checkpoint on a partition.
* ``Models.config``: the user's flat ``model_config`` (defaults, named configs, checks) and the typed pieces
  (``ModelSpec``, ``TrainConfig``, ``EvalConfig``, ``ExperimentConfig``) it is turned into once.

Arrows point downwards only: training and evaluation use ``api``/``separation``, which use ``nets``
(``pyproject.toml``'s import-linter contracts).
"""

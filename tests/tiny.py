"""A tiny separator config shared by the inference, evaluation and CLI tests (fast on a CPU): Training.py's
defaults with a one-layer, two-filter U-Net on 8-frame patches."""

from Training import resolved_model_config

TINY_MODEL = resolved_model_config(num_frames=8, num_layers=1, num_initial_filters=2, critic_initial_filters=2,
                                   inference_batch_size=8)

"""Training: ``experiment`` (the whole Training.py run), the two phases (``supervised``, ``semisupervised``),
their shared ``loop``, ``checkpoints``, ``early_stopping``, ``distribute`` (strategies, mixed precision),
``summaries`` (TensorBoard) and ``features`` (waveform excerpts to network tensors, in tf.data)."""

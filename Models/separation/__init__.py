"""Applying a trained separator to audio: ``windows`` (the U-Net slid over a spectrogram), ``model_rate``
(whole tracks at the model's rate, streamed in chunks), ``masks`` (soft masks, Wiener filter), ``input_rate``
(any rate and channel count, in memory), ``files`` (file to files, streamed), ``options`` and ``precision``."""

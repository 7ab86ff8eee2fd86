"""The networks and what rebuilds them: U-Net separator, WGAN critic, the STFT front end, shape arithmetic,
spectrogram geometry, the factory and the checkpoint's spec files. A new separation network goes here (and into
``factory.build_separator``)."""

"""Audio input: file I/O and spectrogram transforms."""

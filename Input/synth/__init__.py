"""Generated demo songs with known stems, tempo and key: ``song`` synthesises one, ``generate`` writes data sets
of them in MUSDB18-HQ layout (``python -m Input.synth.generate``)."""

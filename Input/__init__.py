"""Audio and data, below the models (no TensorFlow model code here).

* ``Input.audio``: audio files: ``probe`` (formats, checks, the hardened ffmpeg/ffprobe calls), ``files``
  (load, atomic save, discovery), ``stream`` (block-wise reading and writing), ``cache`` (decode-once cache).
* ``Input.datasets``: the data sets as partitions of ``Sample`` triples: ``load`` (the one entry point),
  ``partitions`` (the dict and its checks), ``musdb``, ``moisesdb``, ``paper``/``paper_corpora`` (the paper's
  four data sets), ``unpaired`` (extra unlabelled folders), ``silence`` (silent voices). Add a data set here.
* ``Input.synth``: generated demo songs: ``song`` (one song's synthesis), ``generate`` (data sets of them; a CLI).
* ``Input.excerpts``: waveform excerpts for training as tf.data pipelines.

The spectrogram transforms (STFT in TensorFlow ops) are part of the model: ``Models.nets.spectrogram``.
"""

"""Audio file I/O: ``probe`` (the bottom: formats, AudioError, hardened ffprobe), ``stream`` (block-wise reading
and writing), ``files`` (whole-file load, atomic save, discovery), ``cache`` (decode-once, memory-mapped)."""

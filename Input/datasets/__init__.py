"""Data sets as partitions of ``Sample`` triples: ``load.load_dataset`` is the one entry point; ``partitions``
holds the dict and its checks; one module per source (``musdb``, ``moisesdb``, ``paper_corpora`` with the
``paper`` partition, ``unpaired`` folders, ``silence``)."""

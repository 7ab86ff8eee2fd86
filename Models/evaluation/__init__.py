"""Scores: ``metrics`` (BSS Eval of given estimates, no model) and ``bss_eval`` (a checkpoint evaluated on every
track of a partition, as Training.py and Evaluate.py do)."""

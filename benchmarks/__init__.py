"""Benchmarks: scripts that print one table each (``python -m benchmarks.<name>``). Not tests.

Importing the package starts TensorFlow the way the other command-line programs do (``Utils.import_tensorflow``:
without its native start-up chatter) and keeps TensorFlow's Python deprecation notices out of the tables.
"""

import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from Utils import import_tensorflow  # noqa: E402

import_tensorflow().get_logger().setLevel(logging.ERROR)

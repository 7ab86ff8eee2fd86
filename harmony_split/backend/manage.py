#!/usr/bin/env python
"""Django's command-line utility for harmony_split: ``python harmony_split/backend/manage.py <command>``.

Runs from any folder: the repository root (which holds ``harmony_split``, ``Models`` and ``Input``) is put on the
import path first.
"""

import os
import sys
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "harmony_split.backend.server.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as err:  # a setting from the environment: one line, no traceback
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main()

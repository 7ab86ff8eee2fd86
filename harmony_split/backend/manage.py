#!/usr/bin/env python
"""Django's command-line utility for harmony_split: ``python harmony_split/backend/manage.py <command>``.

Runs from any folder: the repository root (which holds ``harmony_split``, ``Models`` and ``Input``) is put on the
import path first. The project's error boundary (``Utils.run_cli``) gives its commands the exit statuses of the
other command-line programs (README, "Troubleshooting"): a project error is one line, a bad setting is a config
error (2).
"""

import os
import sys
from pathlib import Path


def main() -> int:
    """Run the Django command of ``sys.argv``; returns the exit status."""
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from Utils import ConfigError

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as err:  # a setting from the environment
        raise ConfigError(str(err)) from None
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "harmony_split.backend.server.settings")
    from Utils import run_cli

    sys.exit(run_cli(main))

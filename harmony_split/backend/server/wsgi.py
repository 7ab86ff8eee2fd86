"""WSGI entry point: ``gunicorn harmony_split.backend.server.wsgi`` (run from the repository root)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "harmony_split.backend.server.settings")
application = get_wsgi_application()

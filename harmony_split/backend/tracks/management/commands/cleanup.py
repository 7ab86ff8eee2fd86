"""``manage.py cleanup``: remove tracks (rows and files) older than ``HARMONY_RETENTION_DAYS``, folders left
without a row, and old task results. Each worker runs it once a day."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from harmony_split.backend.tracks import jobs, storage
from harmony_split.backend.tracks.models import Track

ORPHAN_AGE = 3600.0  # seconds: a folder younger than this may be an upload whose row is being written


class Command(BaseCommand):
    help = "Remove tracks older than HARMONY_RETENTION_DAYS (rows and files) and orphaned files."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--days", type=float, default=None,
                            help="age limit in days (default: HARMONY_RETENTION_DAYS)")

    def handle(self, *args: object, days: float | None = None, **options: object) -> None:
        days = settings.HARMONY_RETENTION_DAYS if days is None else days
        old = Track.objects.filter(created__lt=timezone.now() - timedelta(days=days))
        removed = 0
        for track in old:
            jobs.delete_track(track)
            removed += 1
        known = {str(pk) for pk in Track.objects.values_list("pk", flat=True)}
        orphans = 0
        folder = storage.tracks_dir()
        for child in sorted(folder.iterdir()) if folder.is_dir() else []:
            if child.name not in known and time.time() - child.stat().st_mtime > ORPHAN_AGE:
                if child.is_dir():
                    storage.remove_track_files(child.name)
                else:
                    child.unlink(missing_ok=True)
                orphans += 1
        if settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
            call_command("prune_db_task_results", min_age_days=max(1, int(days)), verbosity=0)
        self.stdout.write(f"cleanup: removed {removed} track(s) older than {days:g} days and {orphans} "
                          "orphaned file(s)")

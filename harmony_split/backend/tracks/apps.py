"""The tracks app: uploads, separation jobs, their files, and the JSON API over them."""

from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def create_cache_table(using: str = "default", **kwargs: object) -> None:
    """``migrate`` also creates the database cache's table (the sign-in and upload counts), if it is configured
    and missing: ``createcachetable`` does nothing otherwise."""
    call_command("createcachetable", database=using, verbosity=0)


class TracksConfig(AppConfig):
    name = "harmony_split.backend.tracks"
    label = "tracks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(create_cache_table, sender=self, dispatch_uid="tracks.create_cache_table")

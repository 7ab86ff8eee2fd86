"""The tracks app: uploads, separation jobs, their files, and the JSON API over them."""

from django.apps import AppConfig


class TracksConfig(AppConfig):
    name = "harmony_split.backend.tracks"
    label = "tracks"
    default_auto_field = "django.db.models.BigAutoField"

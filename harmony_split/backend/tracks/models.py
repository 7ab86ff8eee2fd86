"""Tables: a :class:`Track` (the uploaded song), its :class:`Separation` (the job and its stems), and a
:class:`WorkerBeat` per live worker process.

Files live in ``HARMONY_DATA_DIR/tracks/<track id>/`` (see :mod:`.storage`); deleting a track deletes its folder.
"""

from __future__ import annotations

import unicodedata
import uuid

from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .storage import remove_track_files

# The separation settings a musician can ask for, as separate.py options (README, "Separating songs": one Wiener
# iteration was the best setting measured, +0.31 dB vocals, at about 40 % more time).
QUALITIES = {"standard": {}, "high": {"wiener": 1}}


NAME_KEY_LENGTH = 400  # characters of Track.name_key (NFKD can lengthen a 200-character name: ligatures)


def library_key(text: str) -> str:
    """``text`` as the library compares it: without case or accents ("Étude" and "etude" are one key), so that
    search and sort treat every language alike on SQLite, whose LIKE and LOWER fold ASCII only."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Track(models.Model):
    """An uploaded song. The upload is stored under a generated name; ``name`` is the sanitised original one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tracks")
    name = models.CharField(max_length=200)  # sanitised original file name, shown and used for downloads
    name_key = models.CharField(max_length=NAME_KEY_LENGTH, default="", editable=False, db_index=True)  # library_key
    upload = models.CharField(max_length=40)  # file name inside the track's folder, e.g. "upload.mp3"
    duration_s = models.FloatField()  # seconds
    sample_rate = models.PositiveIntegerField()  # Hz
    channels = models.PositiveSmallIntegerField()
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    bpm = models.FloatField(null=True, blank=True)  # estimated tempo, beats per minute (after separation)
    key = models.CharField(max_length=12, blank=True, default="")  # estimated key, e.g. "A minor" ("" unknown)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    def save(self, *args: object, **kwargs: object) -> None:
        self.name_key = library_key(self.name)[:NAME_KEY_LENGTH]
        super().save(*args, **kwargs)


class Separation(models.Model):
    """The separation job of a track: its state, progress and the stems it wrote.

    Life cycle: queued -> running -> done | failed | cancelled; a running job whose worker stopped beating is
    re-queued once (``attempts`` counts the runs), then failed.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Stage(models.TextChoices):
        """What a running job is doing (the progress bar can only measure the separating)."""

        LOADING = "loading"  # the worker loads the model (seconds on a cold worker)
        SEPARATING = "separating"  # progress counts the separated audio
        ANALYSING = "analysing"  # tempo and key, after the stems are written

    track = models.OneToOneField(Track, on_delete=models.CASCADE, related_name="separation", primary_key=True)
    model = models.CharField(max_length=200)  # model id: a run folder name under HARMONY_CHECKPOINT_DIR
    format = models.CharField(max_length=4, default="wav")  # stem container: wav | flac | mp3
    quality = models.CharField(max_length=8, default="standard")  # a key of QUALITIES
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0)  # fraction of the audio separated, 0-1
    stage = models.CharField(max_length=10, choices=Stage.choices, blank=True, default="")  # while running
    error = models.CharField(max_length=400, blank=True, default="")  # one line, when failed
    attempts = models.PositiveSmallIntegerField(default=0)  # runs started (a re-queued job runs twice)
    worker = models.CharField(max_length=100, blank=True, default="")  # id of the worker running it
    queued = models.DateTimeField(auto_now_add=True, db_index=True)  # last time it entered the queue
    heartbeat = models.DateTimeField(null=True, blank=True)  # last sign of life of its worker, while running
    finished = models.DateTimeField(null=True, blank=True)

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    def __str__(self) -> str:
        return f"{self.track_id}: {self.status}"


class WorkerBeat(models.Model):
    """A worker process's last heartbeat (``/api/health/`` counts the recent ones)."""

    worker = models.CharField(max_length=100, primary_key=True)
    last_seen = models.DateTimeField(db_index=True)


@receiver(post_delete, sender=Track)
def _remove_files(sender: type, instance: Track, **kwargs: object) -> None:
    """However a track is deleted (the API, the admin, its owner's deletion, cleanup), its folder goes too."""
    track_id = instance.pk
    transaction.on_commit(lambda: remove_track_files(track_id))

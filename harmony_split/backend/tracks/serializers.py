"""JSON shapes of the API: a track as the client sees it, the upload form, and the small auth and health bodies."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Separation, Track

FORMATS = ("wav", "flac", "mp3")


class StemsSerializer(serializers.Serializer):
    vocals = serializers.CharField(help_text="URL of the vocals stem")
    accompaniment = serializers.CharField(help_text="URL of the accompaniment stem")


class TrackSerializer(serializers.ModelSerializer):
    """One track with its job's state. ``queue_position`` counts from 1 while queued (else null);
    ``stems`` maps each stem to its download URL once done (else null)."""

    status = serializers.ChoiceField(source="separation.status", choices=Separation.Status.choices, read_only=True)
    progress = serializers.FloatField(source="separation.progress", read_only=True, help_text="0-1")
    queue_position = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    model = serializers.CharField(source="separation.model", read_only=True)
    format = serializers.CharField(source="separation.format", read_only=True)
    finished = serializers.DateTimeField(source="separation.finished", read_only=True, allow_null=True)
    stems = serializers.SerializerMethodField()

    class Meta:
        model = Track
        fields = ["id", "name", "duration_s", "sample_rate", "channels", "status", "progress", "queue_position",
                  "error", "model", "format", "created", "finished", "stems"]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=1))
    def get_queue_position(self, track: Track) -> int | None:
        job = track.separation
        if job.status != Separation.Status.QUEUED:
            return None
        return Separation.objects.filter(status=Separation.Status.QUEUED, queued__lt=job.queued).count() + 1

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_error(self, track: Track) -> str | None:
        return track.separation.error or None

    @extend_schema_field(StemsSerializer(allow_null=True))
    def get_stems(self, track: Track) -> dict[str, str] | None:
        if track.separation.status != Separation.Status.DONE:
            return None
        return {stem: reverse("track-stem", args=[track.id, stem]) for stem in ("vocals", "accompaniment")}


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="the song: wav, flac, ogg, aiff, mp3, m4a or mp4")
    model = serializers.CharField(required=False, help_text="a model id of GET /api/models/ (default: the default)")
    format = serializers.ChoiceField(choices=FORMATS, required=False, default="wav", help_text="stem format")


class ModelSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    phase = serializers.CharField()
    val_loss = serializers.FloatField(allow_null=True)
    created = serializers.CharField()
    default = serializers.BooleanField()


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class SessionSerializer(serializers.Serializer):
    username = serializers.CharField(allow_null=True)
    authenticated = serializers.BooleanField()


class HealthSerializer(serializers.Serializer):
    status = serializers.CharField()
    queue = serializers.IntegerField(help_text="jobs waiting")
    workers_seen = serializers.IntegerField(help_text="workers with a recent heartbeat")
    max_upload_mb = serializers.FloatField(help_text="largest accepted upload, MB (10^6 bytes); the browser checks it")


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()

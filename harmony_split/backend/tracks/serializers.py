"""JSON shapes of the API: a track as the client sees it, the upload form, and the small auth and health bodies."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import QUALITIES, Separation, Track

FORMATS = ("wav", "flac", "mp3")


class StemsSerializer(serializers.Serializer):
    """The stems' download URLs (paths on this server). The uploaded original is at ``stems/mixture`` too, but is
    not listed: it is no separation result."""

    vocals = serializers.CharField(help_text="URL of the vocals stem")
    accompaniment = serializers.CharField(help_text="URL of the accompaniment stem")


class TrackSerializer(serializers.ModelSerializer):
    """One track with its job's state. ``queue_position`` counts from 1 while queued (else null);
    ``stems`` maps each stem to its download URL once done (else null)."""

    status = serializers.ChoiceField(source="separation.status", choices=Separation.Status.choices, read_only=True)
    progress = serializers.FloatField(source="separation.progress", read_only=True,
                                      help_text="fraction of the audio separated, 0-1")
    stage = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    model = serializers.CharField(source="separation.model", read_only=True, help_text="model id (GET /api/models/)")
    format = serializers.ChoiceField(source="separation.format", choices=FORMATS, read_only=True,
                                     help_text="the stems' file format")
    quality = serializers.ChoiceField(source="separation.quality", choices=tuple(QUALITIES), read_only=True,
                                      help_text="the separation setting asked for")
    finished = serializers.DateTimeField(source="separation.finished", read_only=True, allow_null=True)
    stems = serializers.SerializerMethodField()

    class Meta:
        model = Track
        fields = ["id", "name", "duration_s", "sample_rate", "channels", "status", "progress", "stage",
                  "queue_position", "error", "model", "format", "quality", "created", "finished", "stems", "bpm", "key"]
        read_only_fields = fields
        extra_kwargs = {"duration_s": {"help_text": "seconds"}, "sample_rate": {"help_text": "Hz"},
                        "bpm": {"help_text": "estimated tempo, beats per minute (null until done, or unknown)"},
                        "key": {"help_text": "estimated key, e.g. 'A minor' (empty until done, or unknown)"},
                        "name": {"help_text": "the sanitised original file name"}}

    @extend_schema_field(serializers.ChoiceField(choices=Separation.Stage.choices, allow_null=True,
                                                 help_text="while running: loading the model, separating (progress "
                                                           "counts), or analysing tempo and key; else null"))
    def get_stage(self, track: Track) -> str | None:
        job = track.separation
        return (job.stage or None) if job.status == Separation.Status.RUNNING else None

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
    quality = serializers.ChoiceField(choices=tuple(QUALITIES), required=False, default="standard",
                                      help_text="standard, or high: the multichannel Wiener filter (slower)")


class DeviceSpecSerializer(serializers.Serializer):
    """What the browser needs of the model spec (``Models.config.ModelSpec``): rates in Hz, sizes in samples/frames."""

    expected_sr = serializers.IntegerField()
    num_fft = serializers.IntegerField()
    num_hop = serializers.IntegerField()
    num_frames = serializers.IntegerField()
    num_layers = serializers.IntegerField()


class DeviceModelSerializer(serializers.Serializer):
    """A model's ONNX export for separation in the browser (``tracks.device_models``)."""

    url = serializers.CharField()
    bytes = serializers.IntegerField()
    spec = DeviceSpecSerializer()


class ModelSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="the run folder's name; what uploads send as model")
    name = serializers.CharField(help_text="what the model is: phase, training data, date, vocals SDR where scored")
    phase = serializers.CharField()
    data = serializers.CharField(help_text="the training data in words; empty when the run recorded none")
    vocals_sdr = serializers.FloatField(allow_null=True, help_text="median vocals SDR on the test songs, dB")
    val_loss = serializers.FloatField(allow_null=True)
    created = serializers.CharField()
    default = serializers.BooleanField()
    device = DeviceModelSerializer(allow_null=True)  # None: no ONNX export, the model runs on the server only


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

"""Tracks and jobs in Django's admin (/admin/), read-mostly."""

from django.contrib import admin

from .models import Separation, Track, WorkerBeat


class SeparationInline(admin.StackedInline):
    model = Separation
    extra = 0


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "duration_s", "created")
    inlines = [SeparationInline]


@admin.register(Separation)
class SeparationAdmin(admin.ModelAdmin):
    list_display = ("track", "status", "progress", "attempts", "worker", "finished")
    list_filter = ("status",)


admin.site.register(WorkerBeat)

"""The EDC's Django application."""

from django.apps import AppConfig


class EdcConfig(AppConfig):
    name = "celltrial.edc"
    label = "edc"
    verbose_name = "celltrial EDC"
    default_auto_field = "django.db.models.BigAutoField"

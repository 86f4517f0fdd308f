"""The EDC's Django application."""

from django.apps import AppConfig


class EdcConfig(AppConfig):
    name = "celltrial.edc"
    label = "edc"
    verbose_name = "celltrial EDC"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Every EDC row is checked before it is written (:func:`celltrial.edc.guard.check_values`)."""
        from django.db.models.signals import pre_save

        from celltrial.edc.guard import check_values

        for model in self.get_models():
            pre_save.connect(check_values, sender=model, dispatch_uid=f"edc-check-{model.__name__}")

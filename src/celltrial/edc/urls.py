"""URLs: the REST API under ``/api/`` (OpenAPI docs at ``/api/docs``)."""

from django.urls import path

from celltrial.edc.api import api

urlpatterns = [path("api/", api.urls)]

"""URLs: the REST API under ``/api/`` (OpenAPI docs at ``/api/docs``), the web pages at ``/``."""

from django.urls import include, path

from celltrial.edc.api import api

urlpatterns = [path("api/", api.urls), path("", include("celltrial.edc.web.urls"))]

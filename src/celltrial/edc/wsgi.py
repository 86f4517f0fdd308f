"""WSGI entry point of the EDC (``celltrial.edc.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celltrial.edc.settings")
application = get_wsgi_application()

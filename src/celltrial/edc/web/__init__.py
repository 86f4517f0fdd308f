"""The EDC's web pages: server-rendered Django templates over the same actions as the API.

Login with Django's auth (sessions, CSRF, throttled failures); every page reads the
person's :class:`~celltrial.edc.models.Staff` and filters by their role and sites through
:mod:`celltrial.edc.roles`; every write calls a function of :mod:`celltrial.edc.actions`.
"""

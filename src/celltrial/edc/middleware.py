"""Django's session, CSRF and authentication middleware for the web pages only.

A call of the REST API with a bearer token (:func:`celltrial.edc.guard.token_call`) is
authenticated by its token alone and its views are CSRF-exempt: a session, a CSRF cookie and
``request.user`` serve the web pages and the browsable API docs, never such a call. Each class
here is the Django middleware of its name that passes a bearer-token call straight on (issue
16's load goal: three middleware layers less per API write). ``settings.MIDDLEWARE`` names
them in the places of Django's own.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware

from celltrial.edc.guard import token_call


class PageSessions(SessionMiddleware):
    """Django's sessions, except for bearer-token API calls."""

    def __call__(self, request: HttpRequest) -> Any:
        if token_call(request):
            return self.get_response(request)
        return super().__call__(request)


class PageCsrf(CsrfViewMiddleware):
    """Django's CSRF checks, except for bearer-token API calls (their views are CSRF-exempt:
    ``process_view``, which Django calls for every view, lets them through as before)."""

    def __call__(self, request: HttpRequest) -> Any:
        if token_call(request):
            return self.get_response(request)
        return super().__call__(request)


class PageAuthentication(AuthenticationMiddleware):
    """Django's ``request.user``, except for bearer-token API calls (the token names the
    person: ``request.auth``)."""

    def __call__(self, request: HttpRequest) -> Any:
        if token_call(request):
            return self.get_response(request)
        return super().__call__(request)

"""What no input may do to the server (issue 16, item 9): every value is checked before it is
written, and every server error is logged with a request id.

* :func:`check_values` (a ``pre_save`` receiver on every EDC model, connected in
  :class:`celltrial.edc.apps.EdcConfig`): text longer than its column, a NUL character, a lone
  surrogate (``"\\ud800"``: not text that UTF-8 can hold) and a number that is NaN or infinite
  are refused with an :class:`~celltrial.edc.actions.ActionError` naming the field (422 on the
  API, the form's message on the web) on SQLite and PostgreSQL alike: SQLite would store a 1 MB
  value in a 200-character column, PostgreSQL answered 500.
* :func:`in_utc`: a typed time that UTC cannot hold (year 1 east of Greenwich, year 9999
  west of it) is refused naming the field (``actions.aware`` on the API, the forms' time
  boxes on the web), not an ``OverflowError``.
* :class:`RequestGuard` (middleware): gives each request an id (``X-Request-ID`` on the
  answer); refuses a NUL or a lone surrogate in the path or the query (400 naming ``path`` or
  the query parameter); logs an unhandled error with its id and traceback (logger
  ``celltrial.edc``) and answers it, on the API, as JSON
  ``{"detail": [{"field": "", "message": "internal server error (request id …)"}]}``;
  sets ``Cache-Control: no-store`` and, on HTML pages, a Content-Security-Policy whose script
  nonce the templates put on their inline scripts (``request.csp_nonce``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import secrets
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger("celltrial.edc")


def bad_text(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (a NUL, which PostgreSQL refuses even in a query,
    or a lone surrogate); None when it can."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (not valid text)"
    return None


def in_utc(value: dt.datetime) -> dt.datetime | None:
    """``value`` (timezone-aware) in UTC, or None when UTC cannot hold it: 0001-01-01T00:00
    at +14:00 or 9999-12-31T23:59 at -14:00 lies outside the years 1–9999 a datetime holds
    (``astimezone`` raised ``OverflowError``: a 500 on the API and the web)."""
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        return None


def _bad_value(value: Any) -> str | None:
    """Why ``value`` (text, number, or JSON of them) cannot be stored, or None."""
    if isinstance(value, str):
        return bad_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number (not NaN or infinity)"
    if isinstance(value, dict):
        for k, v in value.items():
            why = _bad_value(k) if isinstance(k, str) else None
            why = why or _bad_value(v)
            if why:
                return f"{k!s:.40}: {why}"
    if isinstance(value, (list, tuple)):
        for v in value:
            why = _bad_value(v)
            if why:
                return why
    return None


def check_values(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """Refuse a row whose text or numbers cannot be stored as given (see the module text)."""
    from celltrial.edc.actions import ActionError, Problem

    problems = []
    for field in instance._meta.concrete_fields:
        value = getattr(instance, field.attname, None)
        if value is None:
            continue
        why = _bad_value(value)
        if (
            why is None
            and isinstance(value, str)
            and field.max_length is not None
            and len(value) > field.max_length
        ):
            why = f"at most {field.max_length} characters (got {len(value)})"
        if why:
            problems.append(Problem(field.name, why))
    if problems:
        raise ActionError(problems=problems)


def _bad_request(request: HttpRequest, field: str, why: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": [{"field": field, "message": why}]}, status=400)
    return HttpResponse(f"{field}: {why}", status=400, content_type="text/plain")


class RequestGuard:
    """Request ids, NUL/surrogate refusal in the URL, logged JSON 500s (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex[:16]
        if bad_text(rid):
            rid = uuid.uuid4().hex[:16]
        request.request_id = rid  # type: ignore[attr-defined]
        why = bad_text(request.path)
        response = _bad_request(request, "path", why) if why else None
        if response is None:
            query = request.META.get("QUERY_STRING", "")
            for key, value in parse_qsl(query, keep_blank_values=True):
                why = bad_text(key) or bad_text(value)
                if why:
                    response = _bad_request(request, _safe(key) or "query", why)
                    break
        request.csp_nonce = secrets.token_urlsafe(16)  # type: ignore[attr-defined]
        if response is None:
            response = self.get_response(request)
        response["X-Request-ID"] = rid
        _protect(request, response)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        rid = getattr(request, "request_id", "") or uuid.uuid4().hex[:16]
        log.error(
            "request %s: %s %s failed: %r",
            rid,
            request.method,
            _safe(request.path),
            exc,
            exc_info=exc,
        )
        if request.path.startswith("/api/"):
            body = {
                "detail": [{"field": "", "message": f"internal server error (request id {rid})"}]
            }
            return HttpResponse(json.dumps(body), status=500, content_type="application/json")
        return None  # the web's 500 page (Django's handler)


def _protect(request: HttpRequest, response: HttpResponse) -> None:
    """Pages and answers with participant data are never stored by a browser or proxy
    (``Cache-Control: no-store``; the style sheet excepted), and every HTML page carries a
    Content-Security-Policy: scripts only from this site or inline with this request's nonce,
    no plug-ins, no framing, forms posted only here."""
    if not request.path.startswith("/static/") and "Cache-Control" not in response:
        response["Cache-Control"] = "no-store"
    if response.get("Content-Type", "").startswith("text/html"):
        nonce = getattr(request, "csp_nonce", "")
        response["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        )


def _safe(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def token_call(request: HttpRequest) -> bool:
    """A call of the REST API with a bearer token: the API authenticates it by the token alone
    (no session, no cookie, no log-in), and its views are CSRF-exempt (no cookie to forge)."""
    return request.path_info.startswith("/api/") and request.META.get(
        "HTTP_AUTHORIZATION", ""
    ).startswith("Bearer ")


class VarietyValidator:
    """A password of at least 5 different characters, not only spaces (``aaaaaaaaaaaa`` and
    twelve spaces pass the length rule and nothing else should let them in)."""

    def validate(self, password: str, user: Any = None) -> None:
        from django.core.exceptions import ValidationError

        if not password.strip():
            raise ValidationError("the password is only spaces", code="password_blank")
        if len(set(password)) < 5:
            raise ValidationError(
                "the password needs at least 5 different characters", code="password_repetitive"
            )

    def get_help_text(self) -> str:
        return "At least 5 different characters, not only spaces."

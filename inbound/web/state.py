"""Keys under which the web page keeps its state on the app and on requests."""

from __future__ import annotations

from aiohttp import MultipartReader, web

from inbound.web.auth import Session
from inbound.web.limits import FailedSignIns

SECRET: web.AppKey[bytes] = web.AppKey("iys_web_secret", bytes)
FAILED_SIGN_INS: web.AppKey[FailedSignIns] = web.AppKey("iys_web_failed_sign_ins", FailedSignIns)
LANG: web.RequestKey[str] = web.RequestKey("iys_web_lang", str)
SESSION: web.RequestKey[Session] = web.RequestKey("iys_web_session", Session)
MULTIPART: web.RequestKey[MultipartReader] = web.RequestKey("iys_web_multipart", MultipartReader)

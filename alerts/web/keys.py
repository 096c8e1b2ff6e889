"""Typed keys for what the application shares between handlers and background tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from alerts.config import Config
from alerts.hotline.speech import Synthesiser
from alerts.notices import Notices
from alerts.ratelimit import InboundLimits, SignupLimits
from alerts.dispatch.events import Events
from alerts.dispatch.scheduler import Coordinator
from alerts.dispatch.worker import Clock, Dispatcher
from alerts.store import Store

if TYPE_CHECKING:
    from alerts.callcentre.push import Pusher
    from alerts.cap.upstream import UpstreamPoller
    from alerts.web.live import Live

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
CHANNELS = web.AppKey("channels", dict[str, Any])
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
COORDINATOR = web.AppKey("coordinator", Coordinator)
EVENTS = web.AppKey("events", Events)
INBOUND_LIMITS = web.AppKey("inbound_limits", InboundLimits)
CALL_LIMITS = web.AppKey("call_limits", InboundLimits)
NOTICES = web.AppKey("notices", Notices)
SIGNUP_LIMITS = web.AppKey("signup_limits", SignupLimits)
# None when espeak-ng is not installed (or TOCSIN_ESPEAK=off).
SYNTHESISER = web.AppKey("synthesiser", Synthesiser | None)  # type: ignore[arg-type]
CLOCK = web.AppKey("clock", Clock)  # type: ignore[arg-type]
# Public pages, feeds and the call-centre push (issue 7).
# Typed by annotation: their modules import this one, so they cannot be imported here at run time.
LIVE: web.AppKey[Live] = web.AppKey("live")
PUSHER: web.AppKey[Pusher] = web.AppKey("callcentre_pusher")
UPSTREAM: web.AppKey[UpstreamPoller] = web.AppKey("cap_upstream")

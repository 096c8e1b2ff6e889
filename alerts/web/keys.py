"""Typed keys for what the application shares between handlers and background tasks."""

from __future__ import annotations

from aiohttp import web

from alerts.callcentre.push import Pusher
from alerts.cap.upstream import UpstreamPoller
from alerts.config import Config
from alerts.dispatch.events import Events
from alerts.dispatch.scheduler import Coordinator
from alerts.dispatch.worker import Clock, Dispatcher
from alerts.hotline.speech import Synthesiser
from alerts.notices import Notices
from alerts.ratelimit import InboundLimits, SignupLimits
from alerts.store import Store
from channels.base import Channel

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
CHANNELS: web.AppKey[dict[str, Channel]] = web.AppKey("channels")
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
COORDINATOR = web.AppKey("coordinator", Coordinator)
EVENTS = web.AppKey("events", Events)
INBOUND_LIMITS = web.AppKey("inbound_limits", InboundLimits)
CALL_LIMITS = web.AppKey("call_limits", InboundLimits)
NOTICES = web.AppKey("notices", Notices)
SIGNUP_LIMITS = web.AppKey("signup_limits", SignupLimits)
# None when espeak-ng is not installed (or TOCSIN_ESPEAK=off).
SYNTHESISER: web.AppKey[Synthesiser | None] = web.AppKey("synthesiser")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
# The call-centre push and the CAP upstream poller (issue 7). The public pages' LIVE hub is
# declared beside its class in alerts.web.live, which reads the keys here.
PUSHER = web.AppKey("callcentre_pusher", Pusher)
UPSTREAM = web.AppKey("cap_upstream", UpstreamPoller)

"""The aiohttp application: shared clients and background tasks live in cleanup_ctx."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timezone
from typing import AsyncIterator, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from alerts.hotline import ivr as hotline
from alerts.hotline.speech import AudioLinks
from alerts.callcentre.push import Pusher
from alerts.cap.upstream import UpstreamPoller
from alerts.config import Config
from alerts.consular.freshness import Freshness
from alerts.dispatch.engine import Engine
from alerts.dispatch.events import Events
from alerts.dispatch.failpoints import Failpoints
from alerts.dispatch.lane import Lane
from alerts.dispatch.settings import DispatchSettings
from alerts.dispatch.worker import Clock
from alerts.notices import Notices
from alerts.simulator import Simulator
from alerts.store import Store
from alerts.supervise import running
from alerts.console import compose, live as console_live, views as console
from alerts.web import api, consular_api, pages, public, signup, webhooks
from alerts.web.boundary import input_boundary
from alerts.web.errors import error_middleware
from alerts.web.proxies import trusted_proxies
from alerts.web.keys import CHANNELS, CLOCK, CONFIG, COORDINATOR, DISPATCHER, EVENTS, NOTICES, PUSHER, STORE, UPSTREAM
from channels import Channel
from alerts.registry import build_channels


class _MalformedRequestsAreNotOurs(logging.Filter):
    """aiohttp's parser answers a malformed request (bytes that are not UTF-8 in its path, say)
    with 400 itself, then logs it at ERROR with a traceback as if it were our bug. It is the
    client's: one line at INFO, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 0) < 500:
            record.msg, record.args = "refused a malformed request (%s %s)", (exc.code, type(exc).__name__)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


_MALFORMED = _MalformedRequestsAreNotOurs()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def make_app(
    config: Config,
    *,
    clock: Clock = utcnow,
    worker: bool = True,
    web_api: bool = True,
    settings: DispatchSettings | None = None,
    channel_factory: Callable[[Config], dict[str, Channel]] = build_channels,
) -> web.Application:
    app = web.Application(middlewares=[*trusted_proxies(config), error_middleware, input_boundary],
                          client_max_size=1024 * 1024)
    logging.getLogger("aiohttp.server").addFilter(_MALFORMED)  # once: addFilter keeps one of each
    app[CONFIG] = config
    app[CLOCK] = clock

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        app[STORE] = Store(config.database_url)
        app[EVENTS] = Events(app[STORE])
        yield
        await app[STORE].close()

    async def channels_ctx(app: web.Application) -> AsyncIterator[None]:
        app[CHANNELS] = channel_factory(config)
        # One lane (pace, sender failover) for everything the account sends: one-off SMS here,
        # the alerts in dispatcher_ctx.
        lane = Lane(app[CHANNELS], settings or DispatchSettings.from_config(config))
        app[NOTICES] = Notices(lane, config.sms_country_codes, clock)
        yield
        await app[NOTICES].close()
        for channel in app[CHANNELS].values():
            await channel.close()

    async def dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
        lane = app[NOTICES].lane
        freshness = Freshness(app[STORE], lane, clock)
        engine = Engine(app[STORE], app[CHANNELS], clock, lane.settings, Failpoints(),
                        housekeeping=freshness.run, audio=AudioLinks.from_config(config), lane=lane)
        app[DISPATCHER], app[COORDINATOR] = engine.dispatcher, engine.coordinator
        app[EVENTS].subscribe(lambda _event: engine.wake())
        engine.start()
        listener = asyncio.create_task(app[EVENTS].listen(), name="events")
        yield
        await engine.stop()
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener

    async def pusher_ctx(app: web.Application) -> AsyncIterator[None]:
        if not config.callcentre.urls:  # nothing runs when no endpoint is configured
            yield
            return
        pusher = app[PUSHER] = Pusher(app[STORE], clock, config.callcentre, config.public_url)
        app[EVENTS].subscribe(lambda _event: pusher.wake())
        async with running(pusher.run(), "callcentre-push"):
            yield
        await pusher.release()

    async def upstream_ctx(app: web.Application) -> AsyncIterator[None]:
        if not config.cap_upstream_url:
            yield
            return
        poller = app[UPSTREAM] = UpstreamPoller(app[STORE], clock, config.cap_upstream_url,
                                                config.cap_upstream_interval, config.public_url)
        async with running(poller.run(), "cap-upstream"):
            yield

    app.cleanup_ctx.extend([store_ctx, channels_ctx])
    if worker:
        app.cleanup_ctx.append(dispatcher_ctx)
        app.cleanup_ctx.extend([pusher_ctx, upstream_ctx])  # call-centre push, CAP upstream (issue 7)
    if web_api:  # a worker-only instance answers /healthz alone
        pages.setup(app)
        api.setup(app)
        webhooks.setup(app)
        hotline.setup(app)
        signup.setup(app)
        consular_api.setup(app)
        public.setup(app)
        console.setup(app)
        compose.setup(app)
        console_live.setup(app)
    app.router.add_get("/healthz", healthz)
    if config.simulator:
        simulator = Simulator(config.twilio.account_sid, config.twilio.auth_token.reveal())
        app.add_subapp("/_twilio", simulator.app())
    return app


async def healthz(request: web.Request) -> web.Response:
    import sqlalchemy as sa

    async with request.app[STORE].read() as conn:
        await conn.execute(sa.text("SELECT 1"))
    return web.json_response({"status": "ok", "simulator": request.app[CONFIG].simulator})

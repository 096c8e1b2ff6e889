"""The one app factory: every route table, sub-application and lifetime of the process is
registered here, in the order it starts. Read it as the table of contents of the web floor.

Shared state sits on the root app under the AppKeys of alerts.web.keys; handlers read it
through `request.config_dict`, which sub-applications see too. Each background task lives in
a cleanup_ctx, through alerts.supervise.running: started with the app, cancelled with it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from aiohttp import web

from alerts import logsetup
from alerts.broadcast.worker import Broadcaster
from alerts.callcentre.push import Pusher
from alerts.cap.upstream import UpstreamPoller
from alerts.config import Config
from alerts.console import (
    admin as console_admin,
    bell,
    compose,
    consular,
    guard,
    live as console_live,
    views as console,
)
from alerts.consular.freshness import Freshness
from alerts.dispatch import heartbeat
from alerts.dispatch.engine import Engine
from alerts.dispatch.events import Events
from alerts.dispatch.failpoints import Failpoints
from alerts.dispatch.lane import Lane
from alerts.dispatch.settings import DispatchSettings
from alerts.dispatch.shares import ShareKeeper
from alerts.dispatch.worker import Clock
from alerts.hotline.speech import AudioLinks, synthesiser_for
from alerts.notices import Notices
from alerts.ratelimit import InboundLimits, SignupLimits
from alerts.registry import build_channels
from alerts.simulator import Simulator
from alerts.simulator.cbc import CbcStandIn
from alerts.store import Store
from alerts.supervise import running
from alerts.web import api, cap_api, consular_api, feeds, hotline, http, live, metrics, public, signup, webhooks
from alerts.web.boundary import input_boundary
from alerts.web.errors import error_middleware
from alerts.web.keys import (
    CALL_LIMITS,
    CHANNELS,
    CLOCK,
    CONFIG,
    COORDINATOR,
    DISPATCHER,
    EVENTS,
    INBOUND_LIMITS,
    NOTICES,
    PUSHER,
    SIGNUP_LIMITS,
    STORE,
    SYNTHESISER,
    UPSTREAM,
)
from alerts.web.pagecache import page_cache_ctx
from alerts.web.proxies import trusted_proxies
from channels import Channel

CleanupCtx = Callable[[web.Application], AsyncIterator[None]]
BROADCASTER = web.AppKey("broadcaster", Broadcaster)
CBC_STAND_IN = web.AppKey("cbc_stand_in", CbcStandIn)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_app(
    config: Config,
    *,
    clock: Clock = utcnow,
    worker: bool = True,
    web_api: bool = True,
    settings: DispatchSettings | None = None,
    channel_factory: Callable[[Config], dict[str, Channel]] = build_channels,
) -> web.Application:
    logsetup.quiet_malformed_requests()  # here too: tests build the app without logsetup.configure
    # The trusted-proxy rewrite first, so every later middleware and handler sees the client's address.
    app = web.Application(middlewares=[*trusted_proxies(config), error_middleware, input_boundary],
                          client_max_size=1024 * 1024)
    app[CONFIG] = config
    app[CLOCK] = clock

    # ---- lifetimes, in the order they start (they stop in reverse) ----
    app.cleanup_ctx.append(store_ctx)
    app.cleanup_ctx.append(channels_ctx(channel_factory, settings or DispatchSettings.from_config(config)))
    if worker:
        app.cleanup_ctx.append(dispatcher_ctx())
        app.cleanup_ctx.append(pusher_ctx)  # call-centre push (issue 7)
        app.cleanup_ctx.append(broadcaster_ctx)  # cell broadcast (issue 17)
        app.cleanup_ctx.append(upstream_ctx)  # CAP upstream (issue 7)
    else:
        app.cleanup_ctx.append(one_off_share_ctx)  # --web-only: one-off SMS within the shared rate
    if web_api:
        app.cleanup_ctx.append(synthesiser_ctx)
        app.cleanup_ctx.append(live.streams_ctx)  # every open event stream, public and console
        app.cleanup_ctx.append(live.live_ctx)  # the public pages' watcher of the active alerts
        app.cleanup_ctx.append(page_cache_ctx)  # public pages, feeds and CAP, held in memory (issue 18)
        app.cleanup_ctx.append(bell.bell_ctx)  # the console's waiting-for-approval streams
        # At shutdown every open stream ends, so the server need not wait for its readers.
        app.on_shutdown.append(live.close_streams)

    # ---- routes: a worker-only instance answers /healthz alone ----
    if web_api:
        app[INBOUND_LIMITS] = InboundLimits()
        app[CALL_LIMITS] = InboundLimits(entry="voice_inbound")
        app[SIGNUP_LIMITS] = SignupLimits()
        http.setup_templates(app)
        app.add_routes(public.routes)  # /, /archive, /alerts/{id}
        app.router.add_get("/events", live.events)
        app.add_routes(feeds.routes)  # /cap/{id}.xml, /feed.atom
        app.add_routes(metrics.routes)  # /metrics
        app.add_routes(signup.routes)  # /subscribe
        app.add_routes(webhooks.routes)  # /twilio/sms/..., /twilio/voice/{status,ack}
        app.add_routes(hotline.routes)  # /twilio/voice/inbound, /twilio/voice/hotline/..., /hotline/audio/...
        app.add_subapp("/api/v1", api_app())
        app.add_subapp("/console", console_app())
    app.router.add_get("/healthz", healthz)
    if config.simulator:
        simulator = Simulator(config.twilio.account_sid, config.twilio.auth_token.reveal())
        app.add_subapp("/_twilio", simulator.app())
        if config.cell_broadcast.stand_in:
            # The CBC stand-in, where simulator mode points its one CBC (alerts.config).
            app[CBC_STAND_IN] = CbcStandIn()
            app.add_subapp("/_cbc", app[CBC_STAND_IN].app())
    return app


def api_app() -> web.Application:
    """/api/v1 (SPEC §11): bearer-token authenticated; errors are JSON (the root's error_middleware)."""
    app = web.Application()
    app.add_routes(api.routes)  # subscribers, scenarios, alerts and their steps
    app.add_routes(consular_api.routes)  # check-in responses, call-back tickets
    app.add_routes(cap_api.routes)  # CAP in, call-centre pushes
    app.add_routes(hotline.api_routes)  # Azerbaijani recordings
    return app


def console_app() -> web.Application:
    """/console: every request passes the guard (session, Origin, CSRF) before its handler."""
    app = web.Application(middlewares=[guard.console_guard])
    app[console.LOGIN_LIMITS] = console.login_limits()
    app.add_routes(console.routes)  # sign in and out, the alerts, one alert and its steps
    app.add_routes(compose.routes)
    app.add_routes(console_live.routes)  # progress stream, after-action report
    app.add_routes(bell.routes)  # what waits for approval, live
    app.add_routes(console_admin.routes)  # the administrator's: users, API tokens, the audit log
    app.add_routes(consular.routes)  # a check-in's responses (live, CSV), call-back tickets
    return app


# ---- lifetimes ----

async def store_ctx(app: web.Application) -> AsyncIterator[None]:
    app[STORE] = Store(app[CONFIG].database_url)
    app[EVENTS] = Events(app[STORE])
    yield
    await app[STORE].close()


def channels_ctx(channel_factory: Callable[[Config], dict[str, Channel]], settings: DispatchSettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        config = app[CONFIG]
        app[CHANNELS] = channel_factory(config)
        # One lane (pace, sender failover) for everything the account sends: one-off SMS here,
        # the alerts' deliveries in dispatcher_ctx.
        lane = Lane(app[CHANNELS], settings)
        app[NOTICES] = Notices(lane, config.sms_country_codes, app[CLOCK])
        yield
        await app[NOTICES].close()
        for channel in app[CHANNELS].values():
            await channel.close()
    return ctx


def dispatcher_ctx() -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        config, clock = app[CONFIG], app[CLOCK]
        lane = app[NOTICES].lane
        freshness = Freshness(app[STORE], lane, clock)
        engine = Engine(app[STORE], app[CHANNELS], clock, lane.settings, Failpoints(),
                        housekeeping=freshness.run, audio=AudioLinks.from_config(config), lane=lane)
        app[DISPATCHER], app[COORDINATOR] = engine.dispatcher, engine.coordinator
        app[EVENTS].subscribe(lambda _event: engine.wake())
        engine.start()
        async with running(app[EVENTS].listen(), "events"):
            yield
            await engine.stop()  # before the listener goes, as it always has
    return ctx


async def one_off_share_ctx(app: web.Application) -> AsyncIterator[None]:
    """A --web-only instance sends no alert, but one-off SMS (sign-up codes) still take from the
    account's rate: on PostgreSQL it holds a share of it while it has some to send."""
    lane = app[NOTICES].lane
    keeper = ShareKeeper.for_store(app[STORE], lane.limiter, lane.settings.rate, lane.settings.rate_lease,
                                   on_demand=True)
    lane.one_off_share = keeper.one_off
    keeper.start()
    yield
    await keeper.stop()


async def pusher_ctx(app: web.Application) -> AsyncIterator[None]:
    """Call-centre endpoints are told of every alert; nothing runs when none is configured."""
    config = app[CONFIG]
    if not config.callcentre.urls:
        yield
        return
    pusher = app[PUSHER] = Pusher(app[STORE], app[CLOCK], config.callcentre, config.public_url)
    app[EVENTS].subscribe(lambda _event: pusher.wake())
    async with running(pusher.run(), "callcentre-push"):
        yield
    await pusher.release()


async def broadcaster_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cell broadcast to every configured CBC; nothing runs when none is configured."""
    config = app[CONFIG]
    if not config.cell_broadcast.enabled:
        yield
        return
    broadcaster = app[BROADCASTER] = Broadcaster(app[STORE], app[CLOCK], config.cell_broadcast)
    app[EVENTS].subscribe(lambda _event: broadcaster.wake())
    async with running(broadcaster.run(), "cell-broadcast"):
        yield
    await broadcaster.release()


async def upstream_ctx(app: web.Application) -> AsyncIterator[None]:
    """An upstream CAP feed read into drafts; nothing runs when none is configured."""
    config = app[CONFIG]
    if not config.cap_upstream_url:
        yield
        return
    poller = app[UPSTREAM] = UpstreamPoller(app[STORE], app[CLOCK], config.cap_upstream_url,
                                            config.cap_upstream_interval, config.public_url)
    async with running(poller.run(), "cap-upstream"):
        yield


async def synthesiser_ctx(app: web.Application) -> AsyncIterator[None]:
    app[SYNTHESISER] = synthesiser_for(app[CONFIG])
    yield


async def healthz(request: web.Request) -> web.Response:
    """{status: ok|failing, database: ok|<error class>, dispatcher: ok|stalled|not run here,
    simulator}: 200 when every part this instance runs is ok, else 503; never a 500."""
    database = await _database_health(request.app[STORE])
    dispatcher_ = request.app.get(DISPATCHER)
    if dispatcher_ is None:
        dispatcher = "not run here"  # --web-only
    else:
        dispatcher = heartbeat.health([dispatcher_.heartbeat, request.app[COORDINATOR].heartbeat],
                                      dispatcher_.settings.stall_after)
    ok = database == "ok" and dispatcher in ("ok", "not run here")
    return web.json_response({"status": "ok" if ok else "failing", "database": database, "dispatcher": dispatcher,
                              "simulator": request.app[CONFIG].simulator}, status=200 if ok else 503)


HEALTH_DB_TIMEOUT = 5.0  # a database that does not answer within this is as good as down


async def _database_health(store: Store) -> str:
    """"ok", or the class of the error a trivial query met (OperationalError, ConnectionRefusedError,
    TimeoutError...)."""
    try:
        async with asyncio.timeout(HEALTH_DB_TIMEOUT), store.read() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # whatever it is, it is the answer, not a 500
        return type(exc).__name__
    return "ok"

"""The aiohttp application: shared clients and background tasks live in cleanup_ctx."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timezone
from typing import AsyncIterator, Callable

from aiohttp import web

from alerts.config import Config
from alerts.dispatch import Clock, Coordinator, DispatchSettings, Dispatcher, Events, Failpoints
from alerts.simulator import Simulator
from alerts.store import Store
from alerts.web import api, webhooks
from alerts.web.errors import error_middleware
from alerts.web.keys import CHANNELS, CLOCK, CONFIG, COORDINATOR, DISPATCHER, EVENTS, STORE
from channels import Channel
from channels.registry import build_channels


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
    app = web.Application(middlewares=[error_middleware], client_max_size=1024 * 1024)
    app[CONFIG] = config
    app[CLOCK] = clock

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        app[STORE] = Store(config.database_url)
        app[EVENTS] = Events(app[STORE])
        yield
        await app[STORE].close()

    async def channels_ctx(app: web.Application) -> AsyncIterator[None]:
        app[CHANNELS] = channel_factory(config)
        yield
        for channel in app[CHANNELS].values():
            await channel.close()

    async def dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
        chosen = settings or DispatchSettings.from_config(config)
        dispatcher = Dispatcher(app[STORE], app[CHANNELS], clock, chosen, Failpoints())
        coordinator = Coordinator(app[STORE], clock, chosen, on_work=dispatcher.wake)
        app[DISPATCHER], app[COORDINATOR] = dispatcher, coordinator
        app[EVENTS].subscribe(lambda _event: (coordinator.wake(), dispatcher.wake()))
        running = [asyncio.create_task(dispatcher.run(), name="dispatcher"),
                   asyncio.create_task(coordinator.run(), name="coordinator")]
        listener = asyncio.create_task(app[EVENTS].listen(), name="events")
        yield
        # Stopped, not cancelled: a task cancelled mid-query can leave its connection hanging.
        await asyncio.gather(dispatcher.stop(), coordinator.stop())
        await asyncio.wait(running, timeout=40)
        for task in [*running, listener]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.extend([store_ctx, channels_ctx])
    if worker:
        app.cleanup_ctx.append(dispatcher_ctx)
    if web_api:  # a worker-only instance answers /healthz alone
        api.setup(app)
        webhooks.setup(app)
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

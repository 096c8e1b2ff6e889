"""The Twilio simulator in a process of its own, so that it shares neither the event loop nor
the CPU with the client being measured. Prints `PORT <n>` once listening on 127.0.0.1 and
serves until stdin closes or SIGTERM.

Besides the simulator's own routes it answers GET /_bench/posts: the receive times
(time.monotonic(), which on Linux is one clock for every process) of the Messages POSTs, in
order, without the request bodies, so a large run can be fetched cheaply (`?with=to`: each
with the number it went to)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys

from aiohttp import web

from alerts.simulator import Simulator
from bench.common import FROM_NUMBER, SIM_SID, SIM_TOKEN


def build() -> tuple[Simulator, web.Application]:
    # No status callbacks: the client is measured on sending alone.
    sim = Simulator(SIM_SID, SIM_TOKEN, statuses=(), call_statuses=())

    async def posts(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        messages = [r for r in sim.received[since:] if r.method == "POST" and r.path.endswith("/Messages.json")]
        if request.query.get("with") == "to":  # who each went to: [at, To] pairs
            return web.json_response({"received": len(sim.received),
                                      "posts": [[r.at, r.params.get("To", "")] for r in messages]})
        return web.json_response({"received": len(sim.received), "posts": [r.at for r in messages]})

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"received": len(sim.received), "messages": len(sim.messages)})

    async def clear(request: web.Request) -> web.Response:
        sim.reset()
        gc.collect()  # the whole heap, between runs: see main()
        return web.json_response({"reset": True})

    app = sim.app()
    app.router.add_get("/_bench/posts", posts)
    app.router.add_get("/_bench/count", count)
    app.router.add_post("/_bench/reset", clear)
    return sim, app


async def main() -> None:
    # Every request is kept until the next reset, and the full collections this growing heap
    # set off paused the simulator for 60-110 ms once or twice in a run of 20,000, for the
    # pipeline and the reference clients alike: noise in every ratio. Full collections happen
    # at each reset instead, between runs; the young generations are collected as usual.
    gc.set_threshold(*gc.get_threshold()[:2], 1_000_000)
    _, app = build()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"PORT {port}", flush=True)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    loop.add_reader(sys.stdin.fileno(), lambda: done.set() if not sys.stdin.buffer.read1(1 << 16) else None)
    await done.wait()
    await runner.cleanup()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    assert FROM_NUMBER
    asyncio.run(main())

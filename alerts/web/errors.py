"""Every error an API client sees is JSON, {"error": {"code", "message", "fields"?}}, and
bad input is always a 4xx: a 5xx means a bug of ours, never a mistake of theirs."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from alerts.validation import Conflict, Forbidden, NotFound, ValidationError

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return web.json_response({"error": error}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except ValidationError as exc:
        return error_response(exc.status, "invalid", exc.message, exc.fields)
    except Forbidden as exc:
        return error_response(403, "forbidden", str(exc))
    except NotFound as exc:
        return error_response(404, "not_found", str(exc))
    except Conflict as exc:
        return error_response(409, "conflict", str(exc))
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        return error_response(exc.status, exc.reason.lower().replace(" ", "_"), exc.text or exc.reason)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal", "internal error; it has been logged")

"""Twilio webhooks. Each one checks Twilio's signature against TOCSIN_PUBLIC_URL + path, so the
check holds behind a proxy; a forged or unsigned request gets 403 and changes nothing. What the
fields mean and how the answers are written is channels/twilio/'s business."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from alerts import i18n, phones
from alerts.consular import checkins
from alerts.i18n import gettext
from alerts.inbound import handle_sms
from alerts.keywords import Action, parse
from alerts.model import DeliveryState
from alerts.schema import deliveries
from alerts.statuses import apply_status
from alerts.web.http import signed_form, twiml
from alerts.web.keys import CLOCK, INBOUND_LIMITS, STORE
from channels.twilio import webhooks as callbacks
from channels.twilio.sms import MessagingAnswer
from channels.twilio.voice import VoiceAnswer, spoken_languages

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


async def _report(request: web.Request, report: callbacks.StatusReport) -> web.Response:
    """A provider's status report for a message or a call, applied forward only."""
    if report.sid and report.status is not None:
        async with request.config_dict[STORE].write() as conn:
            await apply_status(conn, report.sid, DeliveryState(report.status.value), report.error_code,
                               request.config_dict[CLOCK]())
    return web.Response(status=204)


@routes.post("/twilio/sms/status")
async def sms_status(request: web.Request) -> web.Response:
    return await _report(request, callbacks.sms_status(await signed_form(request)))


@routes.post("/twilio/voice/status")
async def voice_status(request: web.Request) -> web.Response:
    return await _report(request, callbacks.call_status(await signed_form(request)))


@routes.post("/twilio/voice/ack")
async def voice_ack(request: web.Request) -> web.Response:
    """The listener pressed a key: on a check-in call, 1 (safe) or 2 (need help) is their
    answer, thanked in their language; otherwise it confirms they heard. Then hang up."""
    params = await signed_form(request)
    digits = params.get("Digits", "")
    log.info("call %s: listener pressed %r", params.get("CallSid", "?"), digits)
    response = VoiceAnswer()
    answer = {"1": checkins.SAFE, "2": checkins.NEED_HELP}.get(digits)
    if answer and params.get("CallSid"):
        now = request.config_dict[CLOCK]()
        async with request.config_dict[STORE].write() as conn:
            call = await checkins.call_answered(conn, params["CallSid"], answer, now)
            if call is None and digits == "1":
                call = await _acknowledged(conn, params["CallSid"], now)
        if call is not None:
            # In the first language Twilio speaks to this reader (Russian for Azerbaijani).
            lang = spoken_languages(call.language)[0]
            with i18n.language(lang):
                text = gettext("Thank you. Your answer has been recorded.")
            response.say(lang, text)
    response.hangup()
    return twiml(response)


async def _acknowledged(conn: Any, call_sid: str, now: Any) -> Any:
    """An alert call's listener pressed 1: the delivery is marked heard; its language, or None."""
    marked = await conn.execute(deliveries.update()
                                .where(deliveries.c.provider_id == call_sid, deliveries.c.channel == "voice",
                                       deliveries.c.acknowledged_at.is_(None))
                                .values(acknowledged_at=now)
                                .returning(deliveries.c.language))
    return marked.first()


@routes.post("/twilio/sms/inbound")
async def sms_inbound(request: web.Request) -> web.Response:
    """A message to our number: a keyword acted on, and the reply as TwiML."""
    params = await signed_form(request)
    response = MessagingAnswer()
    try:
        phone = phones.normalize(params.get("From", ""), default_region="ZZ")
    except phones.PhoneError:
        # A short code or an alphanumeric sender: nobody to subscribe, nobody to answer.
        return twiml(response)
    body = params.get("Body", "")[:1600]
    if not request.config_dict[INBOUND_LIMITS].allow(phone):
        # No reply: answering a flood (or another robot's auto-replies) would only feed it.
        # But STOP, DELETE and check-in answers are always acted on: they are the person's word.
        if parse(body).action not in (Action.STOP, Action.DELETE, Action.SAFE, Action.NEED_HELP):
            log.warning("inbound SMS from %s over its rate limit; not acted on", phones.mask(phone))
            return twiml(response)
        async with request.config_dict[STORE].write() as conn:
            await handle_sms(conn, phone, body, request.config_dict[CLOCK]())
        return twiml(response)
    async with request.config_dict[STORE].write() as conn:
        reply, _lang = await handle_sms(conn, phone, body, request.config_dict[CLOCK]())
    response.message(reply)
    return twiml(response)

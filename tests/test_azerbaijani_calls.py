"""An alert call to an Azerbaijani reader: Twilio has no Azerbaijani voice, so the call plays
the alert's recording, or the espeak-ng speech the hotline makes, then speaks Russian and
English; only with neither does it speak Russian and English alone."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest

from tests.helpers import eventually, json_ok, subscribe_many as _subscribe_many

WAV = b"RIFF" + (36).to_bytes(4, "little") + b"WAVEfmt " + bytes(28)


async def _call_to_an_azerbaijani_reader(tocsin, recording: bytes | None) -> tuple[int, ElementTree.Element]:
    await _subscribe_many(tocsin, 1, channels=("voice",), lang_cycle=("az",))
    operator = await tocsin.user(f"op{uuid.uuid4().hex[:6]}", "operator")
    approver = await tocsin.user(f"ap{uuid.uuid4().hex[:6]}", "approver")
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 5.8, "epicentre": "AZ-BA"}, "status": "Actual",
        "audience": {"regions": ["AZ-BA"]}, "channels": ["voice"],
    }), 201)
    if recording is not None:
        put = await tocsin.client.put(f"/api/v1/alerts/{draft['id']}/recordings/az", data=recording, headers=operator)
        assert put.status == 201, await put.text()
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=operator))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=approver))
    calls = await eventually(lambda: _calls(tocsin))
    return draft["id"], ElementTree.fromstring(tocsin.sim.twiml[calls[0]["sid"]])


async def _calls(tocsin):
    return tocsin.sim.calls() or None


def _said(twiml):
    return [e.get("language") for e in twiml.iter("Say")]


@pytest.mark.parametrize("espeak", ["auto", "off"])
async def test_the_call_plays_the_alerts_recording(start_tocsin, espeak):
    tocsin = await start_tocsin(TOCSIN_ESPEAK=espeak)
    alert_id, twiml = await _call_to_an_azerbaijani_reader(tocsin, WAV)
    plays = [e.text for e in twiml.iter("Play")]
    assert len(plays) == 2 and plays[0] == plays[1]  # said twice, like every part of a call
    url = urlsplit(plays[0])
    assert url.path == f"/hotline/audio/alert/{alert_id}.wav"
    audio = await tocsin.client.get(f"{url.path}?{url.query}")  # what Twilio fetches: signed
    assert audio.status == 200 and await audio.read() == WAV
    assert (await tocsin.client.get(url.path + "?area=AZ-BA&sig=forged")).status == 404
    # Then Russian and English, as every Azerbaijani caller is offered; never <Say> in az.
    assert set(_said(twiml)) >= {"ru-RU", "en-GB"} and not any((lang or "").startswith("az") for lang in _said(twiml))
    children = [child.tag for child in twiml]
    assert children.index("Play") < children.index("Say")


async def test_without_a_recording_the_hotlines_speech_is_played(start_tocsin):
    tocsin = await start_tocsin(TOCSIN_ESPEAK="auto")
    if tocsin.config.espeak is None:
        pytest.fail("espeak-ng is not installed (make test installs it)")
    alert_id, twiml = await _call_to_an_azerbaijani_reader(tocsin, None)
    plays = [e.text for e in twiml.iter("Play")]
    assert plays and urlsplit(plays[0]).path == f"/hotline/audio/alert/{alert_id}.wav"


async def test_with_no_audio_at_all_russian_and_english_are_spoken(start_tocsin):
    tocsin = await start_tocsin(TOCSIN_ESPEAK="off")
    _, twiml = await _call_to_an_azerbaijani_reader(tocsin, None)
    assert list(twiml.iter("Play")) == []
    assert set(_said(twiml)) >= {"ru-RU", "en-GB"}

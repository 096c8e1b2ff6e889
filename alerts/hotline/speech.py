"""Azerbaijani speech for the hotline, synthesised offline with espeak-ng (Twilio's <Say>
has no Azerbaijani voice). Files are cached by the hash of their text, so every caller
after the first gets the same file at once, and any instance can make any file again."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

log = logging.getLogger(__name__)

# espeak-ng's default pace is fast for a stressed listener on a phone line.
WORDS_PER_MINUTE = 140
TIMEOUT_SECONDS = 30.0


# Synthesis is CPU work: a few at a time, whatever the callers ask.
MAX_AT_ONCE = 2


class SpeechError(RuntimeError):
    pass


def audio_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"hotline-audio", hashlib.sha256).digest()


def signature(key: bytes, path: str, query: Mapping[str, str]) -> str:
    """Audio URLs are signed: the endpoint speaks only texts the hotline itself asked for, so
    nobody can make the server synthesise (and keep) whatever they like."""
    canonical = path + "?" + urlencode(sorted((k, v) for k, v in query.items() if k != "sig"))
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()[:32]


def signed_url(public_url: str, key: bytes, path: str, **query: str) -> str:
    """The URL Twilio fetches an audio file from, signed so that only our own calls can ask."""
    return f"{public_url}{path}?{urlencode({**query, 'sig': signature(key, path, query)})}"


@dataclass(frozen=True)
class AudioLinks:
    """Azerbaijani audio for outbound alert calls: the hotline's own endpoint, which plays the
    alert's recording, else speaks its Azerbaijani text with espeak-ng."""

    public_url: str
    key: bytes
    synthesis: bool  # espeak-ng is installed: any alert with an Azerbaijani text can be spoken

    @classmethod
    def from_config(cls, config: Any) -> AudioLinks:
        return cls(config.public_url, audio_key(config.secret_key.reveal()), config.espeak is not None)

    def alert(self, alert_id: int, area: str) -> str:
        return signed_url(self.public_url, self.key, f"/hotline/audio/alert/{alert_id}.wav", area=area)


class Synthesiser:
    def __init__(self, program: str, cache_dir: Path) -> None:
        self.program = program
        self.cache_dir = cache_dir
        self._locks: dict[str, asyncio.Lock] = {}
        self._slots = asyncio.Semaphore(MAX_AT_ONCE)

    async def wav(self, text: str) -> Path:
        key = hashlib.sha256(f"az\0{WORDS_PER_MINUTE}\0{text}".encode()).hexdigest()
        path = self.cache_dir / f"{key}.wav"
        if path.exists():
            return path
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if not path.exists():
                async with self._slots:
                    await self._synthesise(text, path)
        self._locks.pop(key, None)
        return path

    async def _synthesise(self, text: str, path: Path) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial")
        # Text through stdin, never argv: an alert's words must not be read as options.
        process = await asyncio.create_subprocess_exec(
            self.program, "-v", "az", "-s", str(WORDS_PER_MINUTE), "--stdin", "-w", str(partial),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            _, stderr = await asyncio.wait_for(process.communicate(text.encode()), TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise SpeechError(f"espeak-ng took over {TIMEOUT_SECONDS:g}s") from None
        if process.returncode != 0 or not partial.exists():
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise SpeechError(f"espeak-ng failed ({process.returncode}): {stderr.decode(errors='replace')[:200]}")
        os.replace(partial, path)
        log.info("synthesised %d characters of Azerbaijani speech", len(text))


def synthesiser_for(config: Any) -> Synthesiser | None:
    """The process's synthesiser; None when espeak-ng is not installed (or TOCSIN_ESPEAK=off).
    It holds no task and no handle: its files outlive it in var_dir/speech, for any instance."""
    return Synthesiser(config.espeak, config.var_dir / "speech") if config.espeak else None

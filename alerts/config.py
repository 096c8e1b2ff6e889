"""Typed configuration, read once from the environment (and optionally tocsin.toml) and
validated before anything starts, so a bad deployment fails at boot rather than mid-alert."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import shutil
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from channels.cell_broadcast.ecbe import CbcSettings

# Re-exported: the app reads its secrets from here, the channels from channels.secret.
from channels.secret import Secret as Secret

SIMULATOR_ACCOUNT_SID = "AC" + "5" * 32
_SID_RE = re.compile(r"^AC[0-9a-fA-F]{32}$")
_MSID_RE = re.compile(r"^MG[0-9a-fA-F]{32}$")
_E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")
LOG_FORMATS = ("text", "json")


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names the variable."""


class DatabaseURL(Secret):
    """TOCSIN_DATABASE_URL: its password (and any query value, ?password= included) never
    shows; the rest does, so a log or a repr still says which database it is. The Store gets
    the real URL through to_async_url, and nothing else needs it."""

    __slots__ = ()

    def masked(self) -> str:
        parts = urlsplit(self.reveal())
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
        query = "&".join(f"{pair.split('=', 1)[0]}=***" for pair in parts.query.split("&") if pair)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

    def __repr__(self) -> str:
        return f"DatabaseURL({self.masked()!r})"

    __str__ = masked

    @property
    def kind(self) -> str:
        """sqlite or postgresql."""
        return "sqlite" if self.reveal().startswith("sqlite") else "postgresql"


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: Secret
    from_number: str | None
    messaging_service_sid: str | None
    voice_number: str | None
    api_base: str
    # Takes over SMS when the primary sender keeps failing.
    secondary_from_number: str | None = None
    # Twilio's async client ignores its own timeout; the SMS channel enforces this one.
    request_timeout: float = 10.0


@dataclass(frozen=True)
class CallCentreConfig:
    urls: tuple[str, ...] = ()
    secret: Secret = field(default_factory=lambda: Secret(""))
    retry_seconds: float = 2.0
    max_retry_seconds: float = 300.0
    timeout: float = 10.0


# The languages a cell broadcast goes out in, in this order after the primary one.
CBC_LANGUAGES = ("az", "en", "ru", "fr", "ar")


@dataclass(frozen=True)
class CellBroadcastConfig:
    """The cell broadcast centres (OsmoCBC's ECBE), each broadcasting to the whole network.
    No CBC: the cell_broadcast channel is not offered."""

    cbcs: tuple[CbcSettings, ...] = ()
    primary_language: str = "az"
    # Every language a message goes out in, the primary first.
    languages: tuple[str, ...] = CBC_LANGUAGES
    page_budget: int = 4
    retry_seconds: float = 2.0
    max_retry_seconds: float = 300.0
    timeout: float = 10.0
    # Simulator mode with no CBC: the one CBC is the stand-in the app mounts at /_cbc.
    stand_in: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.cbcs)


def cbc_label(url: str) -> str:
    """A CBC's URL as logs and pages may show it: without its credentials."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True)
class Config:
    database_url: DatabaseURL
    host: str
    port: int
    public_url: str
    secret_key: Secret
    twilio: TwilioConfig
    sms_rate: float
    simulator: bool
    var_dir: Path = field(default=Path("var"))
    sms_rate_unit: str = "messages"
    max_in_flight: int = 50
    lease_seconds: float = 60.0
    # How long an instance's share of the SMS rate lasts unrenewed (alerts.dispatch.shares).
    rate_lease_seconds: float = 5.0
    schedule_grace_minutes: float = 15.0
    # espeak-ng, for the hotline's Azerbaijani speech (Twilio has no Azerbaijani voice).
    espeak: str | None = None
    # Calling codes that confirmation and courtesy SMS may go to: SMS pumping fraud sends
    # codes to premium ranges abroad, at our cost.
    sms_country_codes: tuple[str, ...] = ("994",)
    # Reverse proxies whose X-Forwarded-For is believed (the public entry points' per-address
    # limits count the address they forward); loopback by default.
    trusted_proxies: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    # What one SMS segment costs, for the dry run's estimate; None: not shown.
    sms_segment_price: float | None = None
    sms_currency: str = "USD"
    # Call-centre push (issue 7): endpoints, the HMAC key they verify with, the first retry delay.
    callcentre: CallCentreConfig = field(default_factory=lambda: CallCentreConfig())
    # A CAP or Atom feed polled for messages that become drafts; None: no polling.
    cap_upstream_url: str | None = None
    cap_upstream_interval: float = 60.0
    # TOCSIN_LOG_FORMAT: "text" (one escaped line per record) or "json" (one object per line).
    log_format: str = "text"
    # TOCSIN_NOTIFY_APPROVERS: an SMS to each approver on duty (with a mobile number) when an
    # alert they may approve starts waiting; off unless set to true.
    notify_approvers: bool = False
    # TOCSIN_DISPATCH_PROCESS: the dispatcher's database work in a process of its own, beside
    # the one that sends (alerts.dispatch.access); on unless set to false.
    dispatch_process: bool = True
    # Cell broadcast (issue 17): TOCSIN_CBC_URLS and the rest; none configured: off.
    cell_broadcast: CellBroadcastConfig = field(default_factory=lambda: CellBroadcastConfig())


def to_async_url(url: str | DatabaseURL) -> str:
    """The SQLAlchemy async driver URL: the one place the database URL is revealed."""
    if isinstance(url, Secret):
        url = url.reveal()
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    return url


def _check_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL such as https://alerts.example.org, got {value!r}")
    return value.rstrip("/")


def _secret_key(env: Mapping[str, str], var_dir: Path) -> Secret:
    if env.get("TOCSIN_SECRET_KEY"):
        key = env["TOCSIN_SECRET_KEY"]
        if len(key) < 32:
            raise ConfigError("TOCSIN_SECRET_KEY must be at least 32 characters long")
        return Secret(key)
    # Generated once and kept, so sessions and signatures survive restarts.
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return Secret(path.read_text().strip())


def load_config(env: Mapping[str, str] | None = None, toml_path: Path | None = None) -> Config:
    """Build the configuration; environment variables win over tocsin.toml."""
    merged: dict[str, str] = {}
    toml_path = toml_path or Path("tocsin.toml")
    if toml_path.exists():
        try:
            data = tomllib.loads(toml_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{toml_path}: {exc}") from None
        merged.update({str(k).upper(): str(v) for k, v in data.items()})
    merged.update(os.environ if env is None else env)
    env = merged

    var_dir = Path(env.get("TOCSIN_VAR_DIR", "var"))
    database_url = env.get("TOCSIN_DATABASE_URL") or f"sqlite:///{var_dir}/tocsin.db"
    if not database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigError("TOCSIN_DATABASE_URL must start with sqlite:/// or postgresql://")

    host = env.get("TOCSIN_HOST") or "127.0.0.1"
    port_text = env.get("TOCSIN_PORT") or "8080"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f"TOCSIN_PORT must be a port number (0-65535), got {port_text!r}")
    port = int(port_text)
    public_url = _check_url("TOCSIN_PUBLIC_URL", env.get("TOCSIN_PUBLIC_URL") or f"http://{host}:{port}")

    rate_text = env.get("TOCSIN_SMS_RATE") or "100"
    try:
        sms_rate = float(rate_text)
    except ValueError:
        raise ConfigError(f"TOCSIN_SMS_RATE must be a number of messages per second, got {rate_text!r}") from None
    if not 0 < sms_rate <= 10_000:
        raise ConfigError(f"TOCSIN_SMS_RATE must be between 0 and 10000, got {rate_text}")

    rate_unit = env.get("TOCSIN_SMS_RATE_UNIT") or "messages"
    if rate_unit not in ("messages", "segments"):
        raise ConfigError(f"TOCSIN_SMS_RATE_UNIT must be messages or segments, got {rate_unit!r}")
    max_in_flight = _number(env, "TOCSIN_MAX_IN_FLIGHT", "50", 1, 1000, int)
    lease_seconds = _number(env, "TOCSIN_LEASE_SECONDS", "60", 1, 3600, float)
    # Short, because a dead instance's share is idle that long; not below 1 s, because an
    # instance stops sending when a renewal (every fifth of it) is late by most of it.
    rate_lease_seconds = _number(env, "TOCSIN_RATE_LEASE_SECONDS", "5", 1, 300, float)
    grace = _number(env, "TOCSIN_SCHEDULE_GRACE_MINUTES", "15", 0, 7 * 24 * 60, float)
    request_timeout = _number(env, "TWILIO_REQUEST_TIMEOUT", "10", 0.1, 120, float)

    espeak = _espeak(env.get("TOCSIN_ESPEAK") or "auto")
    sms_country_codes = _calling_codes(env.get("TOCSIN_SMS_COUNTRY_CODES") or "994")
    trusted_proxies = _networks(env.get("TOCSIN_TRUSTED_PROXIES") or "127.0.0.0/8,::1/128")
    price = _number(env, "TOCSIN_SMS_SEGMENT_PRICE", "0", 0, 100, float) or None
    currency = env.get("TOCSIN_SMS_CURRENCY") or "USD"
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ConfigError(f"TOCSIN_SMS_CURRENCY must be an ISO 4217 code such as USD or AZN, got {currency!r}")
    callcentre = _callcentre(env)
    cap_upstream_url = env.get("TOCSIN_CAP_UPSTREAM_URL") or None
    if cap_upstream_url:
        cap_upstream_url = _check_url("TOCSIN_CAP_UPSTREAM_URL", cap_upstream_url)
    cap_upstream_interval = _number(env, "TOCSIN_CAP_UPSTREAM_INTERVAL", "60", 1, 24 * 3600, float)

    log_format = env.get("TOCSIN_LOG_FORMAT") or "text"
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"TOCSIN_LOG_FORMAT must be text or json, got {log_format!r}")

    notify_approvers = _flag(env, "TOCSIN_NOTIFY_APPROVERS", False)
    dispatch_process = _flag(env, "TOCSIN_DISPATCH_PROCESS", True)

    secret_key = _secret_key(env, var_dir)
    sid, token = env.get("TWILIO_ACCOUNT_SID"), env.get("TWILIO_AUTH_TOKEN")
    if bool(sid) != bool(token):
        raise ConfigError("set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or neither for simulator mode")
    simulator = not sid
    from_number = env.get("TWILIO_FROM_NUMBER") or None
    service_sid = env.get("TWILIO_MESSAGING_SERVICE_SID") or None
    voice_number = env.get("TWILIO_VOICE_NUMBER") or None
    secondary = env.get("TWILIO_SECONDARY_FROM_NUMBER") or None
    for name, value in (("TWILIO_FROM_NUMBER", from_number), ("TWILIO_VOICE_NUMBER", voice_number),
                        ("TWILIO_SECONDARY_FROM_NUMBER", secondary)):
        if value and not _E164_RE.match(value):
            raise ConfigError(f"{name} must be an E.164 number such as +994125550100, got {value!r}")
    if service_sid and not _MSID_RE.match(service_sid):
        raise ConfigError("TWILIO_MESSAGING_SERVICE_SID must look like MG followed by 32 hex digits")

    if simulator:
        # The in-process simulator is mounted under /_twilio on our own server.
        sid = SIMULATOR_ACCOUNT_SID
        token = "sim-" + secret_key.reveal()[:24]
        from_number = from_number or "+15005550006"
        voice_number = voice_number or "+15005550007"
        api_base = env.get("TWILIO_API_BASE") or f"http://{_loopback(host)}:{port}/_twilio"
    else:
        assert sid is not None and token is not None
        if not _SID_RE.match(sid):
            raise ConfigError("TWILIO_ACCOUNT_SID must look like AC followed by 32 hex digits")
        if not (from_number or service_sid):
            raise ConfigError("set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID to send SMS")
        api_base = env.get("TWILIO_API_BASE") or "https://api.twilio.com"
    api_base = _check_url("TWILIO_API_BASE", api_base)
    cell_broadcast = _cell_broadcast(env, simulator, f"http://{_loopback(host)}:{port}/_cbc/api/ecbe/v1")

    return Config(
        database_url=DatabaseURL(database_url),
        host=host,
        port=port,
        public_url=public_url,
        secret_key=secret_key,
        twilio=TwilioConfig(
            account_sid=sid,
            auth_token=Secret(token),
            from_number=from_number,
            messaging_service_sid=service_sid,
            voice_number=voice_number,
            api_base=api_base,
            secondary_from_number=secondary,
            request_timeout=request_timeout,
        ),
        sms_rate=sms_rate,
        simulator=simulator,
        var_dir=var_dir,
        sms_rate_unit=rate_unit,
        max_in_flight=max_in_flight,
        lease_seconds=lease_seconds,
        rate_lease_seconds=rate_lease_seconds,
        schedule_grace_minutes=grace,
        espeak=espeak,
        sms_country_codes=sms_country_codes,
        sms_segment_price=price,
        trusted_proxies=trusted_proxies,
        sms_currency=currency,
        callcentre=callcentre,
        cap_upstream_url=cap_upstream_url,
        cap_upstream_interval=cap_upstream_interval,
        log_format=log_format,
        notify_approvers=notify_approvers,
        dispatch_process=dispatch_process,
        cell_broadcast=cell_broadcast,
    )


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    text = (env.get(name) or "").strip().lower()
    if not text:
        return default
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {text!r}")


def _espeak(value: str) -> str | None:
    if value == "off":
        return None
    if value == "auto":
        return shutil.which("espeak-ng")
    if not (Path(value).is_file() and os.access(value, os.X_OK)):
        raise ConfigError(f"TOCSIN_ESPEAK must be auto, off, or the path of the espeak-ng program, got {value!r}")
    return value


def _networks(value: str) -> tuple[str, ...]:
    found = []
    for item in (v.strip() for v in value.split(",") if v.strip()):
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError("TOCSIN_TRUSTED_PROXIES must be addresses or networks such as 10.0.0.0/8, "
                              f"got {item!r}") from None
    return tuple(found)


def _calling_codes(value: str) -> tuple[str, ...]:
    codes = tuple(c.strip().lstrip("+") for c in value.split(",") if c.strip())
    if not codes or not all(c.isdigit() and 1 <= len(c) <= 3 and c[0] != "0" for c in codes):
        raise ConfigError("TOCSIN_SMS_COUNTRY_CODES must be country calling codes separated by commas, "
                          f"such as 994,90,7; got {value!r}")
    return codes


def _number(env: Mapping[str, str], name: str, default: str, low: float, high: float, kind: type) -> Any:
    text = env.get(name) or default
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{name} must be a {'whole ' if kind is int else ''}number, got {text!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {text}")
    return value


def _loopback(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def _callcentre(env: Mapping[str, str]) -> CallCentreConfig:
    urls = tuple(u.strip() for u in (env.get("TOCSIN_CALLCENTRE_URLS") or "").split(",") if u.strip())
    for url in urls:
        _check_url("TOCSIN_CALLCENTRE_URLS", url)  # kept as given: an endpoint's trailing slash may matter
    secret = env.get("TOCSIN_CALLCENTRE_SECRET") or ""
    if urls and len(secret) < 32:
        raise ConfigError("TOCSIN_CALLCENTRE_SECRET must be set, at least 32 characters, "
                          "when TOCSIN_CALLCENTRE_URLS is")
    if len(set(urls)) != len(urls):
        raise ConfigError("TOCSIN_CALLCENTRE_URLS lists the same URL twice")
    return CallCentreConfig(
        urls=urls,
        secret=Secret(secret),
        retry_seconds=_number(env, "TOCSIN_CALLCENTRE_RETRY_SECONDS", "2", 0.01, 600, float),
        max_retry_seconds=_number(env, "TOCSIN_CALLCENTRE_MAX_RETRY_SECONDS", "300", 0.01, 3600, float),
        timeout=_number(env, "TOCSIN_CALLCENTRE_TIMEOUT", "10", 0.1, 120, float),
    )


def _cell_broadcast(env: Mapping[str, str], simulator: bool, stand_in: str) -> CellBroadcastConfig:
    """TOCSIN_CBC_*: each URL an ECBE base (http://user:password@host:port/api/ecbe/v1), named in
    TOCSIN_CBC_NAMES in the same order. In simulator mode with no URL, the stand-in under /_cbc."""
    urls = [u.strip() for u in (env.get("TOCSIN_CBC_URLS") or "").split(",") if u.strip()]
    names = [n.strip() for n in (env.get("TOCSIN_CBC_NAMES") or "").split(",") if n.strip()]
    simulated = not urls and simulator
    if simulated:
        urls, names = [stand_in], names or ["Simulator"]
    if not names and len(urls) == 1:
        names = ["CBC"]
    if len(names) != len(urls):
        raise ConfigError(f"TOCSIN_CBC_NAMES must name each of the {len(urls)} TOCSIN_CBC_URLS once, "
                          f"in the same order; got {len(names)} name(s)")
    if len(set(names)) != len(names) or any(len(n) > 200 for n in names):
        raise ConfigError("TOCSIN_CBC_NAMES must be distinct names of up to 200 characters")
    primary = env.get("TOCSIN_CBC_PRIMARY_LANGUAGE") or "az"
    if primary not in CBC_LANGUAGES:
        raise ConfigError(f"TOCSIN_CBC_PRIMARY_LANGUAGE must be one of {', '.join(CBC_LANGUAGES)}, got {primary!r}")
    timeout = _number(env, "TOCSIN_CBC_TIMEOUT", "10", 0.1, 120, float)
    cbcs = []
    for name, url in zip(names, urls, strict=True):
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            # The URL only by its label: it may hold a password.
            raise ConfigError(f"TOCSIN_CBC_URLS must be http(s) URLs such as "
                              f"http://user:password@cbc.example.org:12345/api/ecbe/v1, got {cbc_label(url)!r}")
        password = Secret(unquote(parts.password)) if parts.password is not None else None
        cbcs.append(CbcSettings(name=name, url=cbc_label(url).rstrip("/"),
                                username=unquote(parts.username) if parts.username else None,
                                password=password, timeout=timeout))
    return CellBroadcastConfig(
        cbcs=tuple(cbcs),
        primary_language=primary,
        languages=(primary, *[lang for lang in CBC_LANGUAGES if lang != primary]),
        page_budget=_number(env, "TOCSIN_CBC_PAGE_BUDGET", "4", 1, 15, int),
        retry_seconds=_number(env, "TOCSIN_CBC_RETRY_SECONDS", "2", 0.01, 600, float),
        max_retry_seconds=_number(env, "TOCSIN_CBC_MAX_RETRY_SECONDS", "300", 0.01, 3600, float),
        timeout=timeout,
        stand_in=simulated,
    )

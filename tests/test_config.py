"""Configuration is validated at start with errors that name the variable."""

from __future__ import annotations

import os
import stat

import pytest

from alerts.config import ConfigError, load_config


def _load(tmp_path, **env):
    return load_config({"TOCSIN_VAR_DIR": str(tmp_path / "var"), **env}, toml_path=tmp_path / "tocsin.toml")


def test_defaults_are_simulator_mode_on_sqlite(tmp_path):
    config = _load(tmp_path)
    assert config.simulator
    assert (config.host, config.port, config.public_url) == ("127.0.0.1", 8080, "http://127.0.0.1:8080")
    assert config.database_url.reveal() == f"sqlite:///{tmp_path}/var/tocsin.db"
    assert config.twilio.api_base == "http://127.0.0.1:8080/_twilio"
    assert config.sms_rate == 100


def test_secret_key_is_generated_once_and_private(tmp_path):
    first = _load(tmp_path).secret_key
    second = _load(tmp_path).secret_key
    assert first == second
    mode = stat.S_IMODE(os.stat(tmp_path / "var" / "secret_key").st_mode)
    assert mode == 0o600


def test_secrets_never_print(tmp_path):
    config = _load(tmp_path, TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN="supersecret-token-value",
                   TWILIO_FROM_NUMBER="+994125550100", TOCSIN_SECRET_KEY="k" * 40)
    text = repr(config) + str(config) + repr(config.twilio)
    assert "supersecret-token-value" not in text and "k" * 40 not in text
    assert config.twilio.auth_token.reveal() == "supersecret-token-value"
    assert not config.simulator


@pytest.mark.parametrize(
    "env, names",
    [
        ({"TOCSIN_PORT": "eighty"}, "TOCSIN_PORT"),
        ({"TOCSIN_PORT": "70000"}, "TOCSIN_PORT"),
        ({"TOCSIN_SMS_RATE": "fast"}, "TOCSIN_SMS_RATE"),
        ({"TOCSIN_SMS_RATE": "0"}, "TOCSIN_SMS_RATE"),
        ({"TOCSIN_RATE_LEASE_SECONDS": "0.5"}, "TOCSIN_RATE_LEASE_SECONDS"),
        ({"TOCSIN_RATE_LEASE_SECONDS": "soon"}, "TOCSIN_RATE_LEASE_SECONDS"),
        ({"TOCSIN_PUBLIC_URL": "alerts.example.org"}, "TOCSIN_PUBLIC_URL"),
        ({"TOCSIN_DATABASE_URL": "mysql://x"}, "TOCSIN_DATABASE_URL"),
        ({"TOCSIN_SECRET_KEY": "short"}, "TOCSIN_SECRET_KEY"),
        ({"TWILIO_ACCOUNT_SID": "AC" + "0" * 32}, "TWILIO_AUTH_TOKEN"),
        ({"TWILIO_ACCOUNT_SID": "nope", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+994125550100"},
         "TWILIO_ACCOUNT_SID"),
        ({"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_FROM_NUMBER"),
        ({"TWILIO_FROM_NUMBER": "0501234567"}, "TWILIO_FROM_NUMBER"),
        ({"TWILIO_API_BASE": "ftp://twilio"}, "TWILIO_API_BASE"),
        ({"TOCSIN_ESPEAK": "/nonexistent/espeak-ng"}, "TOCSIN_ESPEAK"),
        ({"TOCSIN_SMS_COUNTRY_CODES": "994,+abc"}, "TOCSIN_SMS_COUNTRY_CODES"),
        ({"TOCSIN_SMS_COUNTRY_CODES": "0994"}, "TOCSIN_SMS_COUNTRY_CODES"),
        ({"TOCSIN_SMS_SEGMENT_PRICE": "cheap"}, "TOCSIN_SMS_SEGMENT_PRICE"),
        ({"TOCSIN_SMS_CURRENCY": "dollars"}, "TOCSIN_SMS_CURRENCY"),
        ({"TOCSIN_TRUSTED_PROXIES": "10.0.0.0/8,nginx"}, "TOCSIN_TRUSTED_PROXIES"),
        ({"TOCSIN_LOG_FORMAT": "JSON "}, "TOCSIN_LOG_FORMAT"),
        ({"TOCSIN_LOG_FORMAT": "logfmt"}, "TOCSIN_LOG_FORMAT"),
    ],
)
def test_bad_values_are_named(tmp_path, env, names):
    with pytest.raises(ConfigError, match=names):
        _load(tmp_path, **env)


def test_the_log_format_is_text_unless_json_is_asked(tmp_path):
    assert _load(tmp_path).log_format == "text"
    assert _load(tmp_path, TOCSIN_LOG_FORMAT="json").log_format == "json"


def test_the_rate_lease_is_read_and_reaches_the_dispatch_settings(tmp_path):
    from alerts.dispatch.settings import DispatchSettings

    assert _load(tmp_path).rate_lease_seconds == 5
    settings = DispatchSettings.from_config(_load(tmp_path, TOCSIN_RATE_LEASE_SECONDS="2.5", TOCSIN_SMS_RATE="60"))
    assert (settings.rate_lease, settings.rate) == (2.5, 60)  # the rate stays the account's


def test_toml_file_is_read_and_environment_wins(tmp_path):
    (tmp_path / "tocsin.toml").write_text('tocsin_port = 9090\ntocsin_sms_rate = 5\n')
    config = _load(tmp_path, TOCSIN_SMS_RATE="7")
    assert config.port == 9090 and config.sms_rate == 7


def test_sms_country_codes_and_espeak_are_read(tmp_path):
    config = _load(tmp_path, TOCSIN_SMS_COUNTRY_CODES="+994, 90,7", TOCSIN_ESPEAK="off")
    assert config.sms_country_codes == ("994", "90", "7")
    assert config.espeak is None


# ---- call-centre push and CAP upstream (issue 7) ----

_SECRET = "c" * 40


@pytest.mark.parametrize("env, name", [
    ({"TOCSIN_CALLCENTRE_URLS": "https://cc.example.az/tocsin"}, "TOCSIN_CALLCENTRE_SECRET"),
    ({"TOCSIN_CALLCENTRE_URLS": "https://cc.example.az/tocsin", "TOCSIN_CALLCENTRE_SECRET": "short"},
     "TOCSIN_CALLCENTRE_SECRET"),
    ({"TOCSIN_CALLCENTRE_URLS": "cc.example.az", "TOCSIN_CALLCENTRE_SECRET": _SECRET}, "TOCSIN_CALLCENTRE_URLS"),
    ({"TOCSIN_CALLCENTRE_URLS": "https://a.az/x,https://a.az/x", "TOCSIN_CALLCENTRE_SECRET": _SECRET},
     "TOCSIN_CALLCENTRE_URLS"),
    ({"TOCSIN_CALLCENTRE_RETRY_SECONDS": "soon"}, "TOCSIN_CALLCENTRE_RETRY_SECONDS"),
    ({"TOCSIN_CALLCENTRE_TIMEOUT": "0"}, "TOCSIN_CALLCENTRE_TIMEOUT"),
    ({"TOCSIN_CAP_UPSTREAM_URL": "ftp://mes.example.az/cap"}, "TOCSIN_CAP_UPSTREAM_URL"),
    ({"TOCSIN_CAP_UPSTREAM_INTERVAL": "0"}, "TOCSIN_CAP_UPSTREAM_INTERVAL"),
])
def test_callcentre_and_upstream_settings_are_checked(tmp_path, env, name):
    with pytest.raises(ConfigError, match=name):
        _load(tmp_path, **env)


def test_callcentre_settings_are_read_and_the_secret_never_prints(tmp_path):
    config = _load(tmp_path, TOCSIN_CALLCENTRE_URLS="https://cc1.example.az/push/, http://10.0.0.5:8000/tocsin",
                   TOCSIN_CALLCENTRE_SECRET=_SECRET, TOCSIN_CALLCENTRE_RETRY_SECONDS="0.5",
                   TOCSIN_CAP_UPSTREAM_URL="https://mes.example.az/cap/feed.atom", TOCSIN_CAP_UPSTREAM_INTERVAL="30")
    assert config.callcentre.urls == ("https://cc1.example.az/push/", "http://10.0.0.5:8000/tocsin")
    assert config.callcentre.secret.reveal() == _SECRET and _SECRET not in repr(config)
    assert config.callcentre.retry_seconds == 0.5
    assert (config.cap_upstream_url, config.cap_upstream_interval) == ("https://mes.example.az/cap/feed.atom", 30)
    default = _load(tmp_path)
    assert default.callcentre.urls == () and default.cap_upstream_url is None


PG_URL = "postgresql://tocsin:pg-Pa55word-1@db.internal:5432/tocsin?sslmode=require&password=pg-Pa55word-2"


def test_the_database_password_never_prints(tmp_path):
    """repr(config) printed TOCSIN_DATABASE_URL whole, password included."""
    from alerts.store import Store

    config = _load(tmp_path, TOCSIN_DATABASE_URL=PG_URL)
    store = Store(config.database_url)
    try:
        shown = [repr(config), str(config), repr(config.database_url), str(config.database_url),
                 f"{config.database_url}", f"{config.database_url!s}", repr(store)]
        for text in shown:
            assert "pg-Pa55word" not in text, text
        # SQLAlchemy masks the password of the URL it holds (not a ?password= query value).
        assert "pg-Pa55word-1" not in repr(store.engine) + str(store.engine.url)
        # What shows still tells an operator which database it is.
        assert str(config.database_url) == "postgresql://tocsin:***@db.internal:5432/tocsin?sslmode=***&password=***"
        assert config.database_url.kind == "postgresql"
        # The store gets the real URL.
        assert store.engine.url.password == "pg-Pa55word-1"
        assert store.engine.url.query["password"] == "pg-Pa55word-2"
    finally:
        import asyncio

        asyncio.run(store.close())


async def test_the_store_opens_the_database_the_hidden_url_names(db_url, tmp_path):
    import sqlalchemy as sa

    from alerts.store import Store

    config = _load(tmp_path, TOCSIN_DATABASE_URL=db_url)
    store = Store(config.database_url)
    try:
        async with store.read() as conn:
            assert await conn.scalar(sa.text("SELECT 1")) == 1
    finally:
        await store.close()


def test_every_secret_of_the_config_is_the_channels_secret(tmp_path):
    """One Secret for the app and the channels (channels.secret), so a channel's settings take
    the configuration's token as it is, and the database URL is one too."""
    from alerts.config import Secret
    from channels.secret import Secret as ChannelSecret

    config = _load(tmp_path, TOCSIN_DATABASE_URL=PG_URL, TWILIO_ACCOUNT_SID="AC" + "1" * 32,
                   TWILIO_AUTH_TOKEN="tw-t0ken-never-shown", TWILIO_FROM_NUMBER="+994125550100")
    assert Secret is ChannelSecret
    for secret in (config.database_url, config.secret_key, config.twilio.auth_token, config.callcentre.secret):
        assert isinstance(secret, ChannelSecret)
    assert config.twilio.auth_token.reveal() == "tw-t0ken-never-shown"
    assert "tw-t0ken" not in repr(config) and "pg-Pa55word" not in repr(config)


_TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "tw-t0ken",
           "TWILIO_FROM_NUMBER": "+994125550100"}


@pytest.mark.parametrize(("env", "name"), [
    ({"TOCSIN_CBC_URLS": "cbc.example.az:12345", "TOCSIN_CBC_NAMES": "Azercell"}, "TOCSIN_CBC_URLS"),
    ({"TOCSIN_CBC_URLS": "http://cbc.example.az:port/api/ecbe/v1", "TOCSIN_CBC_NAMES": "Azercell"},
     "TOCSIN_CBC_URLS"),
    ({"TOCSIN_CBC_URLS": "http://a.az:1/api/ecbe/v1,http://b.az:1/api/ecbe/v1", "TOCSIN_CBC_NAMES": "Azercell"},
     "TOCSIN_CBC_NAMES"),
    ({"TOCSIN_CBC_URLS": "http://a.az:1/api/ecbe/v1,http://b.az:1/api/ecbe/v1", "TOCSIN_CBC_NAMES": "A,A"},
     "TOCSIN_CBC_NAMES"),
    ({"TOCSIN_CBC_PRIMARY_LANGUAGE": "de"}, "TOCSIN_CBC_PRIMARY_LANGUAGE"),
    ({"TOCSIN_CBC_PAGE_BUDGET": "0"}, "TOCSIN_CBC_PAGE_BUDGET"),
    ({"TOCSIN_CBC_PAGE_BUDGET": "16"}, "TOCSIN_CBC_PAGE_BUDGET"),
    ({"TOCSIN_CBC_TIMEOUT": "never"}, "TOCSIN_CBC_TIMEOUT"),
])
def test_cell_broadcast_settings_are_checked(tmp_path, env, name):
    with pytest.raises(ConfigError, match=name):
        _load(tmp_path, **env)


def test_cell_broadcast_credentials_come_from_the_url_and_never_print(tmp_path):
    config = _load(tmp_path, **_TWILIO, TOCSIN_CBC_URLS="http://tocsin:cbc-Pa55%40word@cbc1.az:12345/api/ecbe/v1/, "
                   "https://cbc2.az/api/ecbe/v1", TOCSIN_CBC_NAMES="Azercell, Bakcell",
                   TOCSIN_CBC_PRIMARY_LANGUAGE="ru", TOCSIN_CBC_PAGE_BUDGET="15")
    first, second = config.cell_broadcast.cbcs
    assert (first.name, first.url, first.username) == ("Azercell", "http://cbc1.az:12345/api/ecbe/v1", "tocsin")
    assert first.password is not None and first.password.reveal() == "cbc-Pa55@word"
    assert (second.name, second.url, second.username, second.password) == (
        "Bakcell", "https://cbc2.az/api/ecbe/v1", None, None)
    assert "cbc-Pa55" not in repr(config) and "cbc-Pa55" not in str(config)
    assert config.cell_broadcast.languages == ("ru", "az", "en", "fr", "ar")
    assert config.cell_broadcast.page_budget == 15
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, **_TWILIO, TOCSIN_CBC_URLS="ftp://tocsin:cbc-Pa55word@cbc1.az/x", TOCSIN_CBC_NAMES="A")
    assert "cbc-Pa55word" not in str(refused.value)


def test_cell_broadcast_is_off_without_a_cbc_and_the_stand_in_in_simulator_mode(tmp_path):
    assert not _load(tmp_path, **_TWILIO).cell_broadcast.enabled
    simulated = _load(tmp_path).cell_broadcast
    assert [(c.name, c.url) for c in simulated.cbcs] == [("Simulator", "http://127.0.0.1:8080/_cbc/api/ecbe/v1")]
    assert (simulated.primary_language, simulated.page_budget) == ("az", 4)

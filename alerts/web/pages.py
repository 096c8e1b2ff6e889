"""Server-rendered pages: one Jinja environment (templates/pages/), translated through the
per-request language context variable, autoescaped. The page language comes from `?lang=`,
then the browser's Accept-Language, then Azerbaijani."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web
from babel import Locale, UnknownLocaleError

from alerts import i18n
from alerts.render import TEMPLATES_DIR
from alerts.validation import printable
from alerts.web.keys import CONFIG

DEFAULT_LANGUAGE = "az"


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        # Public pages by bare name ("index.html"), the console's as "console/alerts.html".
        loader=jinja2.FileSystemLoader([TEMPLATES_DIR / "pages", TEMPLATES_DIR]),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        # Every value a page shows passes here: a stored string that a page could not carry
        # (a lone surrogate would fail the whole response's encoding) shows as U+FFFD instead.
        finalize=_printable,
    )
    # Called at render time, so each request's language (a context variable) applies.
    env.install_gettext_callables(gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]


def _printable(value: Any) -> Any:
    return printable(value) if isinstance(value, str) else value


def page_language(request: web.Request) -> str:
    asked = request.query.get("lang", "").lower()
    if asked in i18n.LANGUAGES:
        return asked
    for tag in _accepted(request.headers.get("Accept-Language", "")):
        try:
            lang = Locale.parse(tag, sep="-").language
        except (ValueError, UnknownLocaleError):
            continue
        if lang in i18n.LANGUAGES:
            return lang
    return DEFAULT_LANGUAGE


def _accepted(header: str) -> list[str]:
    """Language tags in the order of their q-values (highest first, ties keep their order)."""
    weighted = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def render(request: web.Request, template: str, lang: str, context: dict[str, Any], status: int = 200) -> web.Response:
    with i18n.language(lang):
        response = aiohttp_jinja2.render_template(
            template, request, {**context, "lang": lang, "dir": i18n.direction(lang), "languages": i18n.LANGUAGES},
            status=status)
    response.headers["Content-Language"] = lang
    return response


def from_this_site(request: web.Request, url: str) -> bool:
    """Whether an Origin or Referer names this site (TOCSIN_PUBLIC_URL's scheme and host)."""
    ours, theirs = urlsplit(request.app[CONFIG].public_url), urlsplit(url)
    return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)

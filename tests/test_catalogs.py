"""The gettext catalogs: complete, not fuzzy, placeholders intact, plurals right."""

from __future__ import annotations

import gettext
import re

import pytest
from babel.messages.pofile import read_po

from alerts import i18n

PLACEHOLDER_RE = re.compile(r"%\((\w+)\)[sd]")


def _catalog(lang):
    with (i18n.LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_catalog_is_complete_and_not_fuzzy(lang):
    catalog = _catalog(lang)
    messages = [m for m in catalog if m.id]
    assert messages
    for m in messages:
        assert not m.fuzzy, m.id
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert strings and all(strings), f"{lang}: untranslated {m.id!r}"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_catalog_covers_the_template(lang):
    with (i18n.LOCALES_DIR / "messages.pot").open("rb") as f:
        template = read_po(f)
    catalog = _catalog(lang)
    missing = [m.id for m in template if m.id and m.id not in catalog]
    assert not missing


def _single_number_forms(catalog) -> set[int]:
    """The plural forms that stand for exactly one number (Arabic's zero, one and two; not
    Russian's "one", which is also 21, 31...): the number is in the words, as in لمدة يومين."""
    plural = gettext.c2py(catalog.plural_expr)
    chosen: dict[int, set[int]] = {}
    for n in range(0, 1000):
        chosen.setdefault(plural(n), set()).add(n)
    return {form for form, numbers in chosen.items() if len(numbers) == 1}


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_translations_keep_their_placeholders(lang):
    catalog = _catalog(lang)
    single = _single_number_forms(catalog)
    for m in catalog:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        expected = set(PLACEHOLDER_RE.findall(ids[-1])) | set(PLACEHOLDER_RE.findall(ids[0]))
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for form, s in enumerate(strings):
            found = set(PLACEHOLDER_RE.findall(s))
            # Checked per plural category: a form for one number may leave out the count.
            may_drop = {"num"} if isinstance(m.id, tuple) and form in single else set()
            assert found <= expected and expected - found <= may_drop, (lang, m.id, form, s)


def test_a_form_for_many_numbers_keeps_the_count():
    assert _single_number_forms(_catalog("ar")) == {0, 1, 2}
    assert _single_number_forms(_catalog("ru")) == set()  # "one" is 1, 21, 31...
    assert _single_number_forms(_catalog("az")) == {0}  # az's singular form is only 1


def test_plural_rules():
    assert _catalog("az").num_plurals == 2
    assert _catalog("ru").num_plurals == 3
    assert _catalog("ar").num_plurals == 6
    # CLDR's Arabic rule: zero, one, two, few (3-10), many (11-99), other.
    ar = _catalog("ar").plural_expr.replace(" ", "")
    assert ar == "(n==0?0:n==1?1:n==2?2:n%100>=3&&n%100<=10?3:n%100>=11?4:5)"


def test_plural_forms_choose_the_right_form():
    ar = _catalog("ar")
    ar_message = next(m for m in ar if isinstance(m.id, tuple))
    ar_forms = ar_message.string
    with i18n.language("ar"):
        chosen = [i18n.ngettext(ar_message.id[0], ar_message.id[1], n) for n in (0, 1, 2, 3, 11, 100, 102)]
    assert chosen == [ar_forms[0], ar_forms[1], ar_forms[2], ar_forms[3], ar_forms[4], ar_forms[5], ar_forms[5]]

    ru = _catalog("ru")
    ru_message = next(m for m in ru if isinstance(m.id, tuple))
    with i18n.language("ru"):
        chosen = [i18n.ngettext(ru_message.id[0], ru_message.id[1], n) for n in (1, 2, 5, 21, 111)]
    f = ru_message.string
    assert chosen == [f[0], f[1], f[2], f[0], f[2]]

    az = _catalog("az")
    az_message = next(m for m in az if isinstance(m.id, tuple))
    with i18n.language("az"):
        chosen = [i18n.ngettext(az_message.id[0], az_message.id[1], n) for n in (1, 2)]
    assert chosen == list(az_message.string[:2])


def _sms_msgids() -> set[str]:
    """The messages an SMS can hold: those of the SMS templates, as `make i18n` extracts
    them, and the scenarios' choice labels, which are put into them."""
    from babel.messages.extract import extract_from_dir

    from alerts.scenarios import SCENARIOS

    options = {"**.txt": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    found = extract_from_dir(str(i18n.LOCALES_DIR.parent / "templates" / "sms"),
                             method_map=[("**.txt", "jinja2")], options_map=options)
    labels = {label for s in SCENARIOS.values() for p in s.params for label in p.options.values()}
    return {msg if isinstance(msg, str) else msg[0] for _, _, msg, _, _ in found} | labels


@pytest.mark.parametrize("lang", sorted(i18n.GSM7_SMS_LANGUAGES))
def test_sms_of_gsm7_languages_keep_to_gsm7(lang):
    """French SMS are worded without â ê î ô û ë ï ç œ ° « » (docs/translations.md): one of them
    would make the whole SMS UCS-2, 67 characters a part instead of 153."""
    from channels.sms.segments import count

    sms = _sms_msgids()
    assert len(sms) >= 40
    outside = []
    for m in _catalog(lang):
        if m.id and (m.id if isinstance(m.id, str) else m.id[0]) in sms:
            for s in (m.string if isinstance(m.string, tuple) else (m.string,)):
                if count(s).ucs2_because:
                    outside.append((s[:60], count(s).ucs2_because))
    assert outside == []

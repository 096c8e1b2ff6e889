"""Which message identifier (the "channel" a phone listens to) a warning goes out on: the
CMAS / EU-Alert table of 3GPP TS 23.041 §9.4.1.2.2, and one distinct identifier per language.

Why distinct: a CBC keeps one message per identifier (OsmoCBC answers a second POST of an
active identifier with 409), so two languages on one identifier would replace each other.
Phones group the identifiers into a few settings (as Android's cell broadcast receiver does):
presidential (always shown), extreme, severe, AMBER and public safety (shown by default), and
the test channels (required monthly test, exercise, operator defined, state/local test: shown
only when the user turns test alerts on). A plan stays within what phones show for the alert:
an Actual alert climbs down from its own group to the next group phones still show by default;
a Test or Exercise never leaves the test channels and never touches 4370-4379.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# TS 23.041 §9.4.1.2.2: an identifier's twin for an additional language is 13 above it
# (4383-4395 for 4370-4382), and 4397/4399 for 4396/4398.
ADDITIONAL_LANGUAGE_OFFSET = 13


@dataclass(frozen=True)
class Identifier:
    number: int
    meaning: str
    group: str  # how phones group it: presidential, extreme, severe, amber, test, public_safety
    additional_language: bool = False


_PRIMARY = [
    (4370, "Presidential Level (EU-Alert Level 1)", "presidential"),
    (4371, "Extreme; Immediate; Observed", "extreme"),
    (4372, "Extreme; Immediate; Likely", "extreme"),
    (4373, "Extreme; Expected; Observed", "severe"),
    (4374, "Extreme; Expected; Likely", "severe"),
    (4375, "Severe; Immediate; Observed", "severe"),
    (4376, "Severe; Immediate; Likely", "severe"),
    (4377, "Severe; Expected; Observed", "severe"),
    (4378, "Severe; Expected; Likely", "severe"),
    (4379, "Child Abduction Emergency (AMBER)", "amber"),
    (4380, "Required Monthly Test", "test"),
    (4381, "Exercise", "test"),
    (4382, "Operator defined use", "test"),
]
TABLE: dict[int, Identifier] = {}
for _number, _meaning, _group in _PRIMARY:
    TABLE[_number] = Identifier(_number, _meaning, _group)
    _twin = _number + ADDITIONAL_LANGUAGE_OFFSET
    TABLE[_twin] = Identifier(_twin, f"{_meaning}, additional language", _group, additional_language=True)
TABLE[4396] = Identifier(4396, "Public Safety Alert", "public_safety")
TABLE[4397] = Identifier(4397, "Public Safety Alert, additional language", "public_safety", True)
TABLE[4398] = Identifier(4398, "State/Local Test", "test")
TABLE[4399] = Identifier(4399, "State/Local Test, additional language", "test", True)

PRESIDENTIAL = 4370
REQUIRED_MONTHLY_TEST = 4380
EXERCISE = 4381
# The identifiers phones show only with test alerts turned on.
TEST_CHANNELS = frozenset(n for n, i in TABLE.items() if i.group == "test")
# Never used for a Test or Exercise (nor their twins 4383-4392).
LIVE_ONLY = frozenset(range(4370, 4380))

# Each group's identifiers in the order a plan takes them (primaries, then their twins).
GROUPS: dict[str, tuple[int, ...]] = {}
for _n in sorted(TABLE, key=lambda n: (TABLE[n].additional_language, n)):
    GROUPS.setdefault(TABLE[_n].group, ())
    GROUPS[TABLE[_n].group] += (_n,)

# An Actual alert's groups, most urgent first: when its own group runs out, the next one phones
# still show by default (AMBER is left out: phones label it a child abduction).
ACTUAL_GROUPS = ("presidential", "extreme", "severe", "public_safety")
# A Test's or Exercise's order within the test channels: its own kind first.
TEST_ORDER: dict[int, tuple[int, ...]] = {
    REQUIRED_MONTHLY_TEST: (4380, 4393, 4398, 4399, 4382, 4395, 4381, 4394),
    EXERCISE: (4381, 4394, 4382, 4395, 4380, 4393, 4398, 4399),
}


class NoIdentifier(ValueError):
    """Every identifier the alert may use is busy or taken by another language."""


def twin(number: int) -> int | None:
    """The additional-language identifier for a primary one (4371 -> 4384), else None."""
    identifier = TABLE.get(number)
    if identifier is None or identifier.additional_language:
        return None
    return number + (1 if number in (4396, 4398) else ADDITIONAL_LANGUAGE_OFFSET)


def base_identifier(status: str, severity: str, urgency: str, certainty: str, national: bool) -> int:
    """The identifier for the alert's first language. Test -> 4380, Exercise -> 4381 (and any
    other non-Actual status as a test); Actual: Extreme + Immediate + Observed and national ->
    4370; else by severity (Extreme or Severe; anything lower as the least severe Severe, 4378),
    urgency (Immediate, anything else as Expected) and certainty (Observed, anything else as
    Likely)."""
    status = status.capitalize()
    if status == "Exercise":
        return EXERCISE
    if status != "Actual":
        return REQUIRED_MONTHLY_TEST
    severity, urgency, certainty = severity.capitalize(), urgency.capitalize(), certainty.capitalize()
    if severity not in ("Extreme", "Severe"):
        return 4378
    if severity == "Extreme" and urgency == "Immediate" and certainty == "Observed" and national:
        return PRESIDENTIAL
    number = 4371 if severity == "Extreme" else 4375
    if urgency != "Immediate":
        number += 2
    if certainty != "Observed":
        number += 1
    return number


def candidates(base: int) -> tuple[int, ...]:
    """Every identifier a plan from `base` may use, in the order it takes them."""
    if base not in TABLE:
        raise ValueError(f"{base} is not a CMAS / EU-Alert message identifier")
    if base in TEST_CHANNELS:
        order: Sequence[int] = TEST_ORDER.get(base, ())
        if base not in order:
            order = (base,) + tuple(n for n in TEST_ORDER[REQUIRED_MONTHLY_TEST] if n != base)
        return tuple(order)
    group = TABLE[base].group
    groups = ACTUAL_GROUPS[ACTUAL_GROUPS.index(group):] if group in ACTUAL_GROUPS else (group,)
    first = [base] + ([t] if (t := twin(base)) is not None else [])
    rest = [n for g in groups for n in GROUPS[g] if n not in first]
    return tuple(first + rest)


def plan(base: int, languages: Iterable[str], busy: Iterable[int] = ()) -> dict[str, int]:
    """One distinct identifier per language, in the languages' order: the first language gets
    `base`, the second its additional-language twin, then the rest of the group, then (Actual
    only) the next group phones show by default. Never a `busy` one; a Test or Exercise stays
    within the test channels. Raises NoIdentifier when they run out."""
    taken = set(busy)
    free = [n for n in candidates(base) if n not in taken]
    languages = list(dict.fromkeys(languages))
    if len(languages) > len(free):
        raise NoIdentifier(f"{len(languages)} languages but only {len(free)} free identifiers from {base}")
    return dict(zip(languages, free, strict=False))


def meaning(number: int) -> str:
    identifier = TABLE.get(number)
    return identifier.meaning if identifier else "not a CMAS / EU-Alert identifier"


def table() -> Mapping[int, Identifier]:
    return dict(TABLE)

"""Personal data in free text: every spelling of an event's own e-mail and
phone, replaced by its pseudonym token (pure).

`identity` carries one e-mail and one phone, normalised (`schemas.identity`);
producers also copy them into comments, URLs and nested properties, spelled
as they like. What is replaced, in every string of the properties (dict keys
included) and of the context:

* the e-mail in any letter case, with `@` or any character percent-encoded
  (`erase.me%40example.net`, `%65%72...`); so also after `mailto:`;
* the phone as a whole number (no digit touching it, directly or through
  one `-`, `.` or `/`), its digits separated by up to four characters of
  white space, `( ) . / - +` or `%20` (three), written with `+`, `%2B` or
  `00` and the country code (also with `(0)`), as country code + national
  number, as trunk prefix + national number (no dot after the prefix:
  `0.912...` is a fraction), or as the national number alone when it has
  `MIN_NATIONAL_DIGITS` digits or more.

Most events carry neither in text, so each string passes cheap `in` tests
first. Past them nothing is compiled per event or per person (a pattern
per person costs 1-2 ms to compile): the e-mail is found with `str.find`
in the lower-cased text, the phone among the runs of digits and
separators one fixed pattern finds, by comparing their digits. Only an
e-mail percent-encoded beyond `%40` (or whose lower case changes the
text's length) needs a pattern of its own, cached.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import unquote

__all__ = ["MIN_NATIONAL_DIGITS", "Secrets", "national_parts", "scrub", "scrub_text"]

MIN_NATIONAL_DIGITS = 8
"""A phone spelled without an international prefix (`+`, `00`) is replaced
only when it has at least this many digits: shorter numbers are too likely
to be something else (an amount, a postcode, part of an id)."""

# E.164 country codes are prefix-free: 1 and 7 have one digit, these two,
# every other code three (ITU-T E.164 assigned list).
_CC2 = frozenset(
    str(code)
    for code in (
        *(20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49),
        *(51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66),
        *(81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98),
    )
)
_TRUNK = {"1": "1", "7": "8"}
"""The national trunk prefix where it is not 0 (NANP, Russia/Kazakhstan)."""

_SEP = r"[\s()./+-]{0,4}"
_RUN = re.compile(rf"[0-9](?:{_SEP}[0-9])*")
"""Digits and what may separate a phone's digit groups: every spelling of a
phone lies within one such run, and what `_LEAD` finds before it."""
_LEAD = re.compile(r"\(?\+[\s()./-]{0,4}\Z|\(\Z")
_DIGITS = frozenset("0123456789")
_SEPARATORS = re.compile(r"[\s()./+-]|%20")
_SPACED = (("%20", "   "), ("%2B", "+  "), ("%2b", "+  "))
"""URL-encoded space and plus, replaced by strings as long: positions hold."""
_LOCAL_CHAR = re.compile(r"[\w.!#$%'*+^`{|}~-]")
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
_DOMAIN_GOES_ON = re.compile(r"\.?[\w-]")


class Secrets(NamedTuple):
    """An event's own e-mail and phone (normalised) and their tokens."""

    email: str | None
    email_token: str
    phone: str | None
    phone_token: str


def national_parts(phone: str) -> tuple[str, str]:
    """(country code, national number) of an E.164 phone such as +989121234567."""
    digits = phone[1:]
    size = 1 if digits[0] in "17" else 2 if digits[:2] in _CC2 else 3
    return digits[:size], digits[size:]


def _replaced(text: str, spans: list[tuple[int, int]], token: str) -> str:
    """`text` with the spans replaced by `token`, the earliest (then longest)
    of overlapping ones."""
    parts: list[str] = []
    at = 0
    for start, end in sorted(spans, key=lambda span: (span[0], -span[1])):
        if start >= at:
            parts += (text[at:start], token)
            at = end
    return "".join(parts) + text[at:] if parts else text


# --- e-mail


def _email_spans(text: str, email: str) -> list[tuple[int, int]]:
    """Where `email` is, in any case, with `@` or `%40`, not inside a longer
    address (an address character before it, unless percent-encoded, as in
    `mailto%3A`; more domain after it)."""
    lower = text.lower()
    spans = []
    for form in (email, email.replace("@", "%40")):
        at = lower.find(form)
        while at >= 0:
            end = at + len(form)
            if (
                at == 0
                or not _LOCAL_CHAR.match(text, at - 1)
                or (at >= 3 and _ESCAPE.match(text, at - 3))
            ) and not _DOMAIN_GOES_ON.match(text, end):
                spans.append((at, end))
            at = lower.find(form, at + 1)
    return spans


def _percent(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode())


def _char(char: str) -> str:
    forms = {char, char.lower(), char.upper()}
    return "(?:" + "|".join([re.escape(char), *sorted({_percent(f) for f in forms})]) + ")"


@lru_cache(maxsize=256)
def _email_pattern(email: str) -> re.Pattern[str]:
    """The rare case: any character percent-encoded, or a lower case that
    changes the text's length (about a millisecond to compile)."""
    body = "".join(_char(c) for c in email)
    start = r"(?:(?<=%[0-9a-f]{2})|(?<![\w.!#$%'*+^`{|}~-]))"
    return re.compile(start + body + r"(?![\w-])(?!\.[\w-])", re.IGNORECASE)


def _scrub_email(text: str, email: str, token: str) -> str:
    if "@" not in text and "%40" not in text:
        return text
    lower = text.lower()
    if email not in lower and "%" not in text:
        return text
    if len(lower) == len(text):
        spans = _email_spans(text, email)
        if spans or "%" not in text:
            return _replaced(text, spans, token)
    if email not in unquote(text).lower():
        return text
    return _email_pattern(email).sub(token, text)


# --- phone


def _joined(gap: str) -> bool:
    """Whether digits with `gap` between them are one number: nothing, or a
    single `-`, `.` or `/` between them (`2026-9121234567`, `12.9121234567`)."""
    return not gap or (len(gap) == 1 and gap in "-./")


def _phone_forms(phone: str) -> list[tuple[str, int | None]]:
    """The digits of each spelling of `phone`: None for those after a `+`;
    for the others, the size of the prefix no dot may follow (0.9121234567
    is a fraction, not 0 + 9121234567)."""
    code, national = national_parts(phone)
    international = (code + national, code + "0" + national)  # +98 912..., +98 (0)912...
    bare = {"00" + form: 0 for form in international}
    for prefix in (code, _TRUNK.get(code, "0"), ""):
        if len(prefix) + len(national) >= MIN_NATIONAL_DIGITS:
            bare.setdefault(prefix + national, len(prefix))
    return [(form, None) for form in international] + list(bare.items())


def _phone_spans(text: str, phone: str) -> list[tuple[int, int]]:
    """Where the phone is: in each run of digits and separators, each place
    its digits are as a whole number (`_joined` to no digit either side)."""
    forms = _phone_forms(phone)
    for encoded, spaced in _SPACED:
        if encoded in text:
            text = text.replace(encoded, spaced)
    spans = []
    for run in _RUN.finditer(text):
        lead = _LEAD.search(text, max(0, run.start() - 6), run.start())
        begin = lead.start() if lead else run.start()
        number = text[begin : run.end()]
        at = [i for i, char in enumerate(number) if char in _DIGITS]
        digits = "".join(number[i] for i in at)
        for form, prefix in forms:
            first = digits.find(form)
            while first >= 0:
                last = first + len(form) - 1
                before = number[at[first - 1] + 1 if first else 0 : at[first]]
                after = number[at[last] + 1 : at[last + 1]] if last + 1 < len(at) else " "
                if (
                    ("+" in before) == (prefix is None)
                    and not (first and _joined(before))
                    and not _joined(after)
                    and not (prefix and "." in number[at[first + prefix - 1] : at[first + prefix]])
                ):
                    if prefix is None:
                        start = at[first] - len(before) + before.rfind("+")
                    else:
                        start = 0 if not first else at[first]  # at 0: the run's "(" too
                    if start and number[start - 1] == "(":
                        start -= 1
                    spans.append((begin + start, begin + at[last] + 1))
                first = digits.find(form, first + 1)
    return spans


def _scrub_phone(text: str, phone: str, token: str) -> str:
    # Every spelling holds the national number's digits, separators aside.
    if phone[-1] not in text:
        return text
    if national_parts(phone)[1] not in _SEPARATORS.sub("", text):
        return text
    return _replaced(text, _phone_spans(text, phone), token)


def scrub_text(text: str, secrets: Secrets) -> str:
    """`text` with every spelling of the secrets replaced by their tokens."""
    if secrets.email is not None:
        text = _scrub_email(text, secrets.email, secrets.email_token)
    if secrets.phone is not None:
        text = _scrub_phone(text, secrets.phone, secrets.phone_token)
    return text


def scrub(value: Any, secrets: Secrets) -> Any:
    """A JSON-like value with `scrub_text` applied to every string in it,
    dict keys included (two keys that both spell the secret become one)."""
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, dict):
        return {scrub_text(k, secrets): scrub(item, secrets) for k, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, secrets) for item in value]
    return value

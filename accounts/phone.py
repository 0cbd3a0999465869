"""Phone numbers as PBXs deliver them, normalised to E.164 with the phonenumbers library."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from django.conf import settings

WITHHELD_MARKERS = frozenset(
    {"", "anonymous", "withheld", "restricted", "private", "unknown", "unavailable", "clip no"}
)
_SIP_URI = re.compile(r"^(?:sips?|tel):([^@;]+)", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedNumber:
    """The result of reading a calling number: exactly one of e164/is_withheld/error is set."""

    raw: str
    e164: str = ""
    extension: str = ""
    is_withheld: bool = False
    error: str = ""

    @property
    def is_valid(self) -> bool:
        return bool(self.e164)


def default_region() -> str:
    return getattr(settings, "ICENTER_PHONE_REGION", "DE")


def phone_parse(raw: str | None, *, region: str | None = None) -> ParsedNumber:
    """Read a number in any format a PBX or a person writes it; never raises."""
    text = (raw or "").strip()
    match = _SIP_URI.match(text)
    if match:
        text = match.group(1)
    if text.strip().strip('"').lower() in WITHHELD_MARKERS:
        return ParsedNumber(raw=raw or "", is_withheld=True)
    region = region or default_region()
    candidates: list[tuple[str, str | None]] = []
    digits = re.sub(r"\D", "", text)
    if text and text[0].isdigit() and not text.startswith("0") and digits == text.replace(" ", ""):
        # A bare "4930…" is an international number without "+": national numbers
        # in the default region always start with the trunk prefix 0.
        candidates.append(("+" + digits, None))
    candidates.append((text, region))
    for candidate, candidate_region in candidates:
        try:
            number = phonenumbers.parse(candidate, candidate_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return ParsedNumber(
                raw=raw or "",
                e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
                extension=number.extension or "",
            )
    return ParsedNumber(raw=raw or "", error="not a valid phone number")


def phone_normalize(raw: str | None) -> str:
    """E.164 form of a number, or "" when it is withheld or not a valid number."""
    return phone_parse(raw).e164


def phone_display(e164: str) -> str:
    """The international format for showing a stored E.164 number to people."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

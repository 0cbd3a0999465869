import pytest

from accounts.phone import phone_display, phone_normalize, phone_parse


@pytest.mark.parametrize(
    "raw",
    [
        "+4930123456",
        "004930123456",
        "030123456",
        "4930123456",
        "+49 30 123456",
        "030/123456",
        "(030) 123456",
        "+49 (0)30 / 123 456",
        "sip:+4930123456@pbx.example.de",
        "tel:+49-30-123456",
        " 030 12 34 56 ",
    ],
)
def test_every_pbx_format_of_a_berlin_number_becomes_the_same_e164(raw):
    assert phone_normalize(raw) == "+4930123456"


def test_a_bare_international_mobile_number_without_plus_is_read_as_international():
    assert phone_normalize("491711234567") == "+491711234567"


def test_an_extension_is_split_off():
    parsed = phone_parse("+49 30 123456 ext. 12")
    assert parsed.e164 == "+4930123456"
    assert parsed.extension == "12"


@pytest.mark.parametrize(
    "raw",
    ["anonymous", "Anonymous", "withheld", "", None, "unknown", "sip:anonymous@anonymous.invalid"],
)
def test_withheld_numbers_are_recognised(raw):
    parsed = phone_parse(raw)
    assert parsed.is_withheld
    assert not parsed.is_valid


@pytest.mark.parametrize(
    "raw", ["2001", "12", "abc", "+", "0000", "x" * 500, "'; DROP TABLE accounts;--"]
)
def test_unparseable_numbers_give_an_error_instead_of_raising(raw):
    parsed = phone_parse(raw)
    assert not parsed.is_valid
    assert not parsed.is_withheld
    assert parsed.error


def test_foreign_numbers_keep_their_country():
    assert phone_normalize("0041 44 123 45 67") == "+41441234567"
    assert phone_normalize("+1 415 555 0100") == "+14155550100"


def test_display_uses_international_format():
    assert phone_display("+4930123456") == "+49 30 123456"

import pytest

from accounts.selectors import account_list_by_phone
from tests.factories import AccountFactory, PhoneFactory


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw", ["+49301234567", "0049301234567", "030 1234567", "49301234567", "(030) 123 45 67"]
)
def test_one_account_is_identified_from_any_format(raw):
    phone = PhoneFactory(value="+49 30 1234567")
    result = account_list_by_phone(raw=raw)
    assert result.account == phone.account
    assert result.accounts == [phone.account]


@pytest.mark.django_db
def test_a_shared_switchboard_number_gives_several_accounts():
    first = PhoneFactory(value="089 5555000").account
    second = PhoneFactory(value="+49 89 5555000").account
    result = account_list_by_phone(raw="+49895555000")
    assert {a.pk for a in result.accounts} == {first.pk, second.pk}
    assert result.account is None


@pytest.mark.django_db
def test_unknown_number_gives_no_account():
    PhoneFactory(value="030 1234567")
    result = account_list_by_phone(raw="040 9876543")
    assert result.accounts == []
    assert result.number.e164 == "+49409876543"


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["anonymous", "", None, "not a number"])
def test_withheld_or_garbage_numbers_identify_nobody(raw):
    PhoneFactory(value="030 1234567")
    assert account_list_by_phone(raw=raw).accounts == []


@pytest.mark.django_db
def test_a_direct_dial_number_identifies_the_company_by_its_switchboard():
    company = AccountFactory(name="Müller GmbH", kind="organisation")
    PhoneFactory(account=company, value="030 1234567", is_switchboard=True)
    result = account_list_by_phone(raw="030 1234567-89")
    assert result.accounts == [company]
    assert result.via_switchboard


@pytest.mark.django_db
def test_a_number_that_only_starts_like_a_private_number_does_not_match_it():
    PhoneFactory(value="030 1234567", is_switchboard=False)
    assert account_list_by_phone(raw="030 123456789").accounts == []


@pytest.mark.django_db
def test_an_exact_number_wins_over_a_switchboard():
    company = AccountFactory(kind="organisation")
    PhoneFactory(account=company, value="030 1234567", is_switchboard=True)
    person = PhoneFactory(value="030 123456789").account
    assert account_list_by_phone(raw="030 123456789").accounts == [person]

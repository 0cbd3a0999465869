"""The customer name search: phonetic, typo-tolerant, umlaut-folded; exact identifiers."""

from __future__ import annotations

import pytest

from accounts.selectors import account_ids_search, account_search
from knowledge.indexing import account_index_refresh
from knowledge.search.analysis import term_forms
from tests.factories import AccountFactory, AddressFactory, ContactFactory, PhoneFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def names(agent):
    """The names the agent's search finds (the accounts here have no customer group)."""

    def found(query: str) -> list[str]:
        return [account.name for account in account_search(query=query, user=agent.user)]

    return found


@pytest.mark.parametrize(
    ("pair", "cologne"),
    [
        (("Müller", "Mueller", "Muller"), "657"),
        (("Meier", "Mayer", "Maier", "Meyer"), "67"),
        (("Schmidt", "Schmitt", "Schmid"), "862"),
        (("Router", "Ruter"), "727"),
    ],
)
def test_known_name_pairs_share_their_cologne_code(pair, cologne):
    from knowledge.search.analysis import fold

    assert {term_forms(fold(name)).cologne for name in pair} == {cologne}


@pytest.mark.parametrize(
    ("names_", "metaphone"),
    [(("Meier", "Mayer", "Maier", "Meyer"), "MR"), (("Schmidt", "Schmitt"), "XMT")],
)
def test_known_name_pairs_share_their_double_metaphone_code(names_, metaphone):
    from knowledge.search.analysis import fold

    assert {term_forms(fold(name)).metaphone for name in names_} == {metaphone}


def test_mueller_mueller_and_muller_find_each_other(names):
    AccountFactory(name="Hans Müller", first_name="Hans", last_name="Müller")
    AccountFactory(name="Petra Mueller", first_name="Petra", last_name="Mueller")
    AccountFactory(name="Jan Muller", first_name="Jan", last_name="Muller")
    AccountFactory(name="Zora Zimmermann", first_name="Zora", last_name="Zimmermann")
    expected = {"Hans Müller", "Petra Mueller", "Jan Muller"}
    for query in ("Müller", "Mueller", "Muller"):
        assert set(names(query)) == expected, query


def test_schmitt_finds_schmidt_and_mayer_finds_meier_and_maier(names):
    AccountFactory(name="Anna Schmidt", first_name="Anna", last_name="Schmidt")
    AccountFactory(name="Karl Meier", first_name="Karl", last_name="Meier")
    AccountFactory(name="Eva Maier", first_name="Eva", last_name="Maier")
    AccountFactory(name="Otto Becker", first_name="Otto", last_name="Becker")
    assert names("Schmitt") == ["Anna Schmidt"]
    assert set(names("Mayer")) == {"Karl Meier", "Eva Maier"}


def test_the_exact_spelling_ranks_before_the_ones_that_sound_alike(names):
    AccountFactory(name="Karl Meier", first_name="Karl", last_name="Meier")
    AccountFactory(name="Eva Mayer", first_name="Eva", last_name="Mayer")
    assert names("Mayer")[0] == "Eva Mayer"
    assert names("Meier")[0] == "Karl Meier"


def test_a_typo_in_a_name_still_finds_it(names):
    AccountFactory(name="Bäckerei Köhler GmbH")
    AccountFactory(name="Friedrich Hoffmann", first_name="Friedrich", last_name="Hoffmann")
    assert names("Hofmannn") == ["Friedrich Hoffmann"]
    assert names("Bäkerei") == ["Bäckerei Köhler GmbH"]


def test_contacts_cities_and_streets_are_found_too(names):
    firm = AccountFactory(name="Zeta AG")
    ContactFactory(account=firm, first_name="Jörg", last_name="Weißhaupt")
    AddressFactory(account=AccountFactory(name="Ina Lang"), street="Schloßallee 4", city="Köln")
    assert names("Weisshaupt") == ["Zeta AG"]
    assert names("Schlossallee") == ["Ina Lang"]
    assert names("Koeln") == ["Ina Lang"]


def test_customer_number_phone_and_email_match_exactly(names):
    account = AccountFactory(name="Bäckerei Köhler GmbH", customer_number="100300")
    PhoneFactory(account=account, value="030 5556667")
    AccountFactory(name="Other", customer_number="100301")
    assert names("100300") == ["Bäckerei Köhler GmbH"]
    assert names("+49 30 5556667") == ["Bäckerei Köhler GmbH"]


def test_prefix_typing_finds_the_name_while_it_is_typed(names):
    AccountFactory(name="Gisela Zimmermann", first_name="Gisela", last_name="Zimmermann")
    assert names("Zimmer") == ["Gisela Zimmermann"]


def test_a_deleted_account_leaves_the_index(agent):
    account = AccountFactory(name="Karl Meier", first_name="Karl", last_name="Meier")
    account_id = account.pk
    account.delete()
    assert account_ids_search(query="Meier", limit=10, user=agent.user) == []
    account_index_refresh(account_ids=[account_id])


def test_renaming_an_account_reindexes_it(names):
    account = AccountFactory(name="Karl Meier", first_name="Karl", last_name="Meier")
    account.name = "Karl Brandt"
    account.last_name = "Brandt"
    account.save()
    assert names("Meier") == []
    assert names("Brandt") == ["Karl Brandt"]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "x" * 10000,
        "der die das und",
        "'; DROP TABLE accounts; --",
        "<b>Meier</b>",
        "Meier 😀",
        "Мейер Meier 麦尔",
        "%_%",
        "\x00Meier",
    ],
)
def test_bad_input_gives_a_result_or_nothing_never_an_error(query, agent):
    AccountFactory(name="Karl Meier", first_name="Karl", last_name="Meier")
    result = account_search(query=query, user=agent.user)
    assert isinstance(result, list)

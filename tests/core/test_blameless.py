import pytest

from bot.core.blameless import check


@pytest.mark.parametrize("text,person", [
    ("Alice deployed the bad config at 09:10.", "Alice"),
    ("<@U0BOB> forgot to renew the certificate", "<@U0BOB>"),
    ("@carol accidentally deleted the index.", "@carol"),
    ("Then Dave failed to page the secondary.", "Dave"),
])
def test_sentences_that_blame_a_person_are_flagged(text, person):
    [flag] = check(text)
    assert flag.person == person and flag.suggestion


@pytest.mark.parametrize("text", ["A deploy shipped the bad config.", "The team deployed a fix.", "We rolled back.",
                                  "The cron job deleted old backups.", "Monitoring missed the spike."])
def test_systems_language_passes(text):
    assert check(text) == []


def test_one_flag_per_sentence():
    assert len(check("Alice deployed it. Bob broke the build and Bob forgot the flag.")) == 2

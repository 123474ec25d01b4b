import pytest

from bot.core.incident import DomainError, Role, Severity, Status
from bot.slack.parsing import parse


def test_declare_with_severity_and_title():
    parsed = parse("declare sev1 Payments API returning 503")
    assert (parsed.name, parsed.severity, parsed.text, parsed.drill) == \
        ("declare", Severity.SEV1, "Payments API returning 503", False)


def test_declare_drill_and_no_severity():
    parsed = parse("declare --drill Checkout slow")
    assert parsed.drill and parsed.severity is None and parsed.text == "Checkout slow"


def test_declare_without_title_asks_for_the_modal():
    assert parse("declare").text == "" and parse("declare sev2").severity is Severity.SEV2


def test_declare_with_a_bad_severity_word_is_refused():
    with pytest.raises(DomainError, match="sev1, sev2, sev3 or sev4"):
        parse("declare sev9 everything is on fire")


@pytest.mark.parametrize("text,error", [
    ("frobnicate", "Unknown subcommand `frobnicate`"),
    ("sev 9", "use 1, 2, 3 or 4"),
    ("sev", "Which severity"),
    ("role janitor <@U0BOB>", "use ic, responder or communicator"),
    ("role ic bob", "is not a person"),
    ("role ic", "Usage"),
    ("timeline", "Usage"),
])
def test_bad_input_gets_a_specific_message(text, error):
    with pytest.raises(DomainError, match=error):
        parse(text)


def test_role_accepts_slack_escaped_mentions():
    parsed = parse("role IC <@U0BOB|bob>")
    assert parsed.role is Role.COMMANDER and parsed.user == "U0BOB"


def test_update_with_and_without_status():
    parsed = parse("update identified: bad deploy found")
    assert parsed.status is Status.IDENTIFIED and parsed.text == "bad deploy found"
    parsed = parse("update still looking")
    assert parsed.status is None and parsed.text == "still looking"


def test_empty_text_is_help():
    assert parse("   ").name == "help"

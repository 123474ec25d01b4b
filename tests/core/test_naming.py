from datetime import date

from bot.core.naming import MAX_CHANNEL_NAME, channel_base, next_free_name, slugify


def test_channel_name_has_prefix_date_and_slug():
    assert channel_base("incident", date(2026, 11, 27), "Payments API returning 503!") == \
        "incident-20261127-payments-api-returning-503"


def test_slug_drops_accents_symbols_and_mentions():
    assert slugify("Café <!channel> down ✨", 60) == "cafe-channel-down"
    assert slugify("🔥🔥", 60) == "untitled"


def test_long_titles_leave_room_for_a_suffix_within_slacks_limit():
    name = channel_base("incident", date(2026, 11, 27), "x" * 5000)
    assert len(name) + len("-99") <= MAX_CHANNEL_NAME
    assert not name.endswith("-")


def test_repeated_names_get_numbered():
    base = "incident-20261127-db-down"
    assert next_free_name(base, set()) == base
    assert next_free_name(base, {base}) == base + "-2"
    assert next_free_name(base, {base, base + "-2"}) == base + "-3"

from datetime import date

from bot.core.naming import (
    MAX_CHANNEL_NAME,
    channel_base,
    next_free_name,
    slugify,
    title_key,
)


def test_channel_name_has_prefix_date_and_slug():
    assert channel_base("incident", date(2026, 11, 27), "Payments API returning 503!") == \
        "incident-20261127-payments-api-returning-503"


def test_slug_transliterates_any_script_and_drops_symbols_and_mentions():
    assert slugify("Café <!channel> down", 60) == "cafe-channel-down"
    assert slugify("Платежи не работают", 60) == "platezhi-ne-rabotayut"
    assert slugify("🔥🔥", 60) == "fire-fire"
    assert slugify("支付失败", 60) == "zhifushibai"
    assert slugify("!!! ???", 60) == ""


def test_a_title_with_nothing_left_is_numbered_by_day():
    base = channel_base("incident", date(2026, 11, 27), "???")
    assert base == "incident-20261127-"
    assert next_free_name(base, set()) == "incident-20261127-1"
    assert next_free_name(base, {"incident-20261127-1", "incident-20261127-2"}) == "incident-20261127-3"


def test_the_same_title_is_recognised_however_it_is_typed_and_different_titles_never_merge():
    assert title_key("Ошибка 503 в платежах") == title_key("  ошибка 503   В ПЛАТЕЖАХ ")
    assert title_key("Ошибка 503 в платежах") != title_key("Ошибка 503 в поиске")
    assert title_key("🔥🔥🔥") != title_key("Платежи не работают")
    assert len(title_key("x" * 10_000)) == 32


def test_long_titles_leave_room_for_a_suffix_within_slacks_limit():
    name = channel_base("incident", date(2026, 11, 27), "x" * 5000)
    assert len(name) + len("-99") <= MAX_CHANNEL_NAME
    assert not name.endswith("-")


def test_repeated_names_get_numbered():
    base = "incident-20261127-db-down"
    assert next_free_name(base, set()) == base
    assert next_free_name(base, {base}) == base + "-2"
    assert next_free_name(base, {base, base + "-2"}) == base + "-3"

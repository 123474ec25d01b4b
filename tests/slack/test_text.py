from bot.slack.text import escape, mention, parse_user, safe


def test_escape_defuses_broadcasts_and_mentions():
    assert escape("<!channel> & <@U123>") == "&lt;!channel&gt; &amp; &lt;@U123&gt;"


def test_safe_never_splits_an_entity():
    text = safe("a" * 8 + "&&&&", 12)
    assert text.endswith("…") and "&am…" not in text and len(text) <= 12


def test_mention_only_for_real_user_ids():
    assert mention("U0BOB") == "<@U0BOB>"
    assert mention("<!channel>") == "_unassigned_"
    assert mention(None) == "_unassigned_"


def test_parse_user_forms():
    assert parse_user("<@U0BOB|bob>") == "U0BOB"
    assert parse_user("U0BOB") == "U0BOB"
    assert parse_user("@bob") is None
    assert parse_user("<!channel>") is None


def test_truncating_never_cuts_a_token_in_half():
    from bot.slack.text import truncate

    mention = "x" * 20 + "<@U0ALICE> said"
    assert truncate(mention, 25) == "x" * 20 + "…"
    date = "Due <!date^1795794705^{date_short_pretty}|2026-11-27 09:00 UTC> today"
    assert truncate(date, 30) == "Due…"
    assert truncate("a &amp; b", 5) == "a…"
    assert truncate("plain words here", 10) == "plain wor…"
    assert truncate("<@U0ALICE> is IC", 100) == "<@U0ALICE> is IC"


def test_truncating_counts_utf16_units_and_never_splits_an_emoji():
    from bot.slack.text import truncate, utf16_length

    assert utf16_length("🔥a") == 3 and utf16_length("é") == 1
    assert truncate("🔥🔥🔥", 6) == "🔥🔥🔥"
    assert truncate("🔥🔥🔥", 5) == "🔥🔥…"
    assert truncate("ab🔥🔥", 4) == "ab…"  # three units left for text: half an emoji is dropped, not kept
    family = "👩\u200d👩\u200d👧"
    assert "\u200d…" not in truncate("x" + family * 3, 5)
    assert all(utf16_length(truncate("🚨" * n, 250)) <= 250 for n in range(120, 130))

from bot.core.text import escape, escape_markdown


def test_mrkdwn_control_characters_are_escaped():
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_markdown_from_people_shows_as_typed():
    assert escape_markdown("[click](https://evil)") == "\\[click\\](https://evil)"
    assert escape_markdown("![x](http://t/p.png)") == "\\!\\[x\\](http://t/p.png)"
    assert escape_markdown("## heading\nsecond line") == "\\## heading second line"
    assert escape_markdown("- item") == "\\- item" and escape_markdown("1. first") == "\\1. first"
    assert escape_markdown("<img src=x> `code` *bold* a|b") == "\\<img src=x\\> \\`code\\` \\*bold\\* a\\|b"
    assert escape_markdown("version 1.2 - fine") == "version 1.2 - fine"  # ordinary text is left alone


def test_slack_markup_reads_as_plain_text():
    from bot.core.text import slack_to_plain

    assert slack_to_plain("see <https://grafana.example/d/x|the dashboard> &amp; <https://x.example>") == \
        "see the dashboard (https://grafana.example/d/x) & https://x.example"
    assert slack_to_plain("<!channel> <!here|here> in <#C123|ops>") == "@channel @here in #ops"
    assert slack_to_plain("due <!date^1795794705^{date_short}|2026-11-27 09:00 UTC>") == "due 2026-11-27 09:00 UTC"
    assert slack_to_plain("&lt;b&gt;") == "<b>"
    assert slack_to_plain("<b>bold</b>") == "<b>bold</b>"  # not Slack's markup: left for escape_markdown

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

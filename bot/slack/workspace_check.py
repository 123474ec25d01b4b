"""`warroom check --slack`: the live workspace as warroom will meet it. Both tokens work, the bot token has
every scope manifest.yaml asks for, and every channel config.yaml names exists, is not archived, and is one
warroom can post to."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Environment, Settings
from bot.environment import secret
from bot.slack.channels import CHANNEL_ID
from bot.slack.scopes import REQUIRED_SCOPES


def configured_channels(settings: Settings) -> dict[str, str]:
    file = settings.file
    named = {"slack.announce_channel": file.slack.announce_channel,
             "slack.leadership_channel": file.slack.leadership_channel,
             "action_items.digest_channel": file.action_items.digest_channel,
             "oncall.team_channel": file.oncall.team_channel}
    return {key: value for key, value in named.items() if value}


async def check_workspace(env: Environment, settings: Settings) -> tuple[list[str], list[str]]:
    """(what is fine, what is wrong), one line each."""
    fine: list[str] = []
    wrong: list[str] = []
    bot = AsyncWebClient(token=secret(env.slack_bot_token), base_url=env.slack_api_url, timeout=15)
    try:
        auth = await bot.auth_test()
    except SlackApiError as exc:
        return fine, [f"SLACK_BOT_TOKEN: Slack refused it ({exc.response.get('error')}): copy the Bot User OAuth "
                      f"Token (xoxb-…) from the app's OAuth & Permissions page"]
    fine.append(f"Slack: workspace {auth.get('team')} as @{auth.get('user')} ({auth.get('user_id')})")
    headers = {key.lower(): value for key, value in (auth.headers or {}).items()}
    granted = {scope.strip() for scope in str(headers.get("x-oauth-scopes", "")).split(",") if scope.strip()}
    missing = sorted(REQUIRED_SCOPES - granted)
    if missing:
        wrong.append(f"bot token scopes: missing {', '.join(missing)}: update the app from manifest.yaml "
                     f"(App Manifest page) and reinstall it to the workspace")
    else:
        fine.append(f"bot token scopes: all {len(REQUIRED_SCOPES)} that manifest.yaml asks for")
    try:
        await AsyncWebClient(base_url=env.slack_api_url, timeout=15).apps_connections_open(app_token=secret(env.slack_app_token))
        fine.append("SLACK_APP_TOKEN: Socket Mode connections open")
    except SlackApiError as exc:
        wrong.append(f"SLACK_APP_TOKEN: Slack refused it ({exc.response.get('error')}): create an app-level token "
                     f"with connections:write (Basic Information → App-Level Tokens)")
    visible = await _visible_channels(bot)
    for key, ref in configured_channels(settings).items():
        problem = await _channel_problem(bot, ref.lstrip("#"), visible)
        (wrong.append(f"{key}: {problem}") if problem else fine.append(f"{key}: #{ref} OK"))
    return fine, wrong


async def _visible_channels(client: AsyncWebClient) -> dict[str, dict]:
    found: dict[str, dict] = {}
    try:
        async for page in await client.conversations_list(limit=1000, types="public_channel,private_channel"):
            for channel in page.get("channels", []):
                found[channel["name"]] = channel
    except SlackApiError:
        pass  # a missing scope is reported above; channels then show as not found
    return found


async def _channel_problem(client: AsyncWebClient, ref: str, visible: dict[str, dict]) -> str | None:
    if CHANNEL_ID.match(ref):
        try:
            channel = (await client.conversations_info(channel=ref))["channel"]
        except SlackApiError as exc:
            return f"{ref}: Slack says {exc.response.get('error')} (a private channel needs warroom invited)"
    else:
        channel = visible.get(ref)
        if channel is None:
            return f"#{ref} not found: create it, or invite warroom if it is private (`/invite @warroom`)"
    if channel.get("is_archived"):
        return f"#{channel.get('name', ref)} is archived: unarchive it or name another channel"
    if channel.get("is_private") and not channel.get("is_member"):
        return f"#{channel.get('name', ref)} is private and warroom is not in it: `/invite @warroom` there"
    return None

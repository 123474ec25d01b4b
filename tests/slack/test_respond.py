"""Replies through `response_url` over one pooled session, with the message Bolt's own `respond` would send."""

import aiohttp
from aiohttp import web
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.slack.respond import PooledRespond
from tests.conftest import local_server


async def test_replies_share_one_connection_and_say_what_bolts_respond_says():
    received: list[tuple[int, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.transport.get_extra_info("peername")[1], await request.json()))
        return web.Response(text="ok")

    async with local_server({"/hooks/1": hook}) as base, aiohttp.ClientSession() as session:
        url = f"{base}/hooks/1"
        for n in range(3):
            answer = await PooledRespond(url, session)(text=f"reply {n}", response_type="ephemeral",
                                                       replace_original=False)
            assert answer.status_code == 200
        await PooledRespond(url, session)({"text": "a whole message", "response_type": "in_channel"})
        for n in range(2):  # Bolt's own: a connection of its own for every reply
            await AsyncRespond(response_url=url)(text=f"bolt {n}", response_type="ephemeral", replace_original=False)

    pooled, bolt = received[:4], received[4:]
    assert len({port for port, _ in pooled}) == 1
    assert len({port for port, _ in bolt}) == 2 and not {port for port, _ in bolt} & {port for port, _ in pooled}
    assert pooled[0][1] == {"text": "reply 0", "response_type": "ephemeral", "replace_original": False}
    assert pooled[0][1] | {"text": "bolt 0"} == bolt[0][1]
    assert pooled[3][1] == {"text": "a whole message", "response_type": "in_channel"}

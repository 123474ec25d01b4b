"""A remediation policy's POST against a local server: headers from the environment, no redirect followed, a
timeout, and the answer bounded and scrubbed."""

import asyncio

import aiohttp
from aiohttp import web

from bot.integrations.http_action import HttpActions
from tests.conftest import free_port, local_server


async def test_headers_come_from_the_environment_and_the_answer_is_bounded_and_scrubbed():
    seen = []

    async def job(request):
        seen.append((request.headers.get("X-Rundeck-Auth-Token"), await request.json()))
        return web.Response(text="started with token rundeck-secret-value; " + "x" * 5000)

    async def redirect(request):
        raise web.HTTPFound("https://elsewhere.example/steal")

    async def slow(request):
        await asyncio.sleep(1)
        return web.Response(text="late")

    async with local_server({"/job": job, "/redirect": redirect, "/slow": slow}) as url:
        async with aiohttp.ClientSession() as session:
            actions = HttpActions(session, {"RUNDECK_TOKEN": "rundeck-secret-value"}, secrets=["db-password-1"])
            headers = {"X-Rundeck-Auth-Token": "RUNDECK_TOKEN"}
            answer = await actions.post(f"{url}/job", headers, {"argString": "-host db-1"}, 5, 200)
            assert seen == [("rundeck-secret-value", {"argString": "-host db-1"})]
            assert answer.status == 200 and 150 < len(answer.text) <= 200  # of a 5 KB answer
            assert "rundeck-secret-value" not in answer.text and "[redacted]" in answer.text
            moved = await actions.post(f"{url}/redirect", headers, {}, 5, 200)
            assert moved.status == 302 and len(seen) == 1  # not followed: the token stays here
            late = await actions.post(f"{url}/slow", headers, {}, 0.3, 200)
            assert late.status is None and late.timed_out
            assert actions.missing({"Authorization": "NOT_SET_ANYWHERE"}) == ["NOT_SET_ANYWHERE"]
            refused = await actions.post(f"http://127.0.0.1:{free_port()}/nothing", headers, {}, 2, 200)
            assert refused.status is None and "could not reach it" in refused.text

"""A remediation policy's HTTP action: one POST (a Rundeck job, a GitHub Actions workflow_dispatch, an internal
endpoint) with headers from the environment, a timeout, and the answer recorded, bounded and scrubbed of secrets.

No redirect is followed: a 3xx to somewhere else would send the headers (tokens) where config.yaml never said.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import aiohttp

from bot.integrations.executor import MIN_SECRET_LENGTH, scrub


@dataclass(frozen=True)
class HttpAnswer:
    status: int | None  # None: no answer (refused, timed out)
    text: str
    timed_out: bool = False


class HttpActions:
    def __init__(self, session: aiohttp.ClientSession, environ: Mapping[str, str], secrets: Iterable[str]):
        self.session = session
        self.environ = environ
        self.secrets = list(secrets)

    def missing(self, headers: Mapping[str, str]) -> list[str]:
        """The environment variables a policy's headers name that are not set."""
        return [name for name in headers.values() if not self.environ.get(name)]

    async def post(self, url: str, headers: Mapping[str, str], body: dict, timeout: float,
                   output_limit: int) -> HttpAnswer:
        """`headers`: header name → the environment variable holding its value."""
        sent = {header: self.environ.get(name, "") for header, name in headers.items()}
        secrets = self.secrets + [value for value in sent.values() if len(value) >= MIN_SECRET_LENGTH]
        sent.setdefault("Content-Type", "application/json")
        try:
            async with self.session.post(url, data=json.dumps(body), headers=sent, allow_redirects=False,
                                         timeout=aiohttp.ClientTimeout(total=timeout)) as answer:
                raw = await answer.content.read(output_limit * 4)
                text = raw.decode("utf-8", "replace")[:output_limit]
                return HttpAnswer(answer.status, scrub(text, secrets))
        except asyncio.TimeoutError:
            return HttpAnswer(None, f"no answer within {timeout:g} s", timed_out=True)
        except aiohttp.ClientError as exc:
            return HttpAnswer(None, scrub(f"could not reach it: {exc.__class__.__name__}: {exc}"[:output_limit],
                                          secrets))

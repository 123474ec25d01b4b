"""Runs a runbook command (the CommandRunner port): no shell, no user text, a minimal environment, a timeout
that kills every process the command started, and output read as a stream into a bounded buffer.

The child never inherits warroom's environment, so SLACK_BOT_TOKEN and friends cannot reach it; what it
prints is still scrubbed of every secret value warroom knows, in case one reached it some other way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import Iterable, Mapping

# Variables a command gets from warroom's own environment when present; anything else must be allowlisted
# by name in runbooks.execution.env.
BASE_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
READ_CHUNK = 64 * 1024
REDACTED = "[redacted]"
# Names whose values are secrets wherever they come from; the scrubber hides their values in output.
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIAL)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")
MIN_SECRET_LENGTH = 6  # shorter values ("1", "true") would scrub ordinary words out of the output


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Every value in `environ` that is a secret: variables named like one, and passwords inside URLs
    (DATABASE_URL). Comma-separated lists (rotated webhook secrets) count item by item."""
    found: set[str] = set()
    for name, value in environ.items():
        if _SECRET_NAME.search(name):
            found.update(part.strip() for part in [value, *value.split(",")])
        found.update(_URL_PASSWORD.findall(value))
    return sorted((v for v in found if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:  # longest first, so a secret that contains another is hidden whole
        text = text.replace(secret, REDACTED)
    return text


def child_environment(environ: Mapping[str, str], allowed: Iterable[str]) -> dict[str, str]:
    names = list(BASE_ENVIRONMENT) + list(allowed)
    env = {name: environ[name] for name in names if name in environ}
    env.setdefault("PATH", DEFAULT_PATH)
    return env


class BoundedOutput:
    """Keeps the first `head` and the last `tail` bytes of a stream, whatever its size; counts the rest."""

    def __init__(self, head: int, tail: int):
        self.head_limit, self.tail_limit = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.tail_limit:
                del self.tail[: len(self.tail) - self.tail_limit]

    def text(self, limit: int) -> str:
        """At most about `limit` characters: the start, a line saying how much was cut, and the end (where
        errors usually are)."""
        cut = self.total - len(self.head) - len(self.tail)
        if cut == 0:
            head = tail = (self.head + self.tail).decode("utf-8", "replace")
            if len(head) <= limit:
                return head
        else:
            head, tail = self.head.decode("utf-8", "replace"), self.tail.decode("utf-8", "replace")
        shown_head = head[: limit // 4]
        shown_tail = tail[-max(1, limit - len(shown_head) - 40):]
        hidden = self.total - len(shown_head.encode()) - len(shown_tail.encode())
        return f"{shown_head}\n…({hidden} bytes cut)…\n{shown_tail}"


class SubprocessRunner:
    def __init__(self, *, allowed_env: Iterable[str] = (), environ: Mapping[str, str] | None = None,
                 secrets: Iterable[str] | None = None):
        environ = os.environ if environ is None else environ
        self.env = child_environment(environ, allowed_env)
        self.secrets = list(secrets) if secrets is not None else secret_values(environ)

    async def run(self, argv: list[str], timeout: float, output_limit: int) -> tuple[int | None, str, bool]:
        """(exit code or None when it timed out, scrubbed output of at most `output_limit` characters, timed out)."""
        # A new session makes the command the leader of its own process group, so the timeout can kill
        # whatever it started too (`sh -c 'sleep 60 &'` would otherwise outlive it).
        process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                       stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.STDOUT, start_new_session=True,
                                                       env=self.env, cwd=self.env.get("HOME") or "/")
        # Bytes kept: enough that the text shown (a quarter head, the rest tail) is whole even in 4-byte UTF-8.
        buffer = BoundedOutput(head=output_limit * 4, tail=output_limit * 4)
        timed_out = False
        try:
            await asyncio.wait_for(self._drain(process, buffer), timeout)
        except asyncio.TimeoutError:
            timed_out = True
        finally:
            _kill_group(process.pid)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        text = scrub(buffer.text(output_limit), self.secrets)
        return (None if timed_out else process.returncode), text, timed_out

    @staticmethod
    async def _drain(process: asyncio.subprocess.Process, buffer: BoundedOutput) -> None:
        # Reads until every process holding the pipe has closed it: a child left running in the
        # background keeps the command "running" until the timeout kills the group.
        while chunk := await process.stdout.read(READ_CHUNK):
            buffer.feed(chunk)
        await process.wait()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)

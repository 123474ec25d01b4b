"""Which process holds something (an outbox lease, a running command) and whether it is still alive."""

from __future__ import annotations

import os
import socket


def identity() -> str:
    """host:pid of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_here(owner: str) -> bool:
    """Whether `owner` (host:pid[:...]) is a process of this host that no longer runs. Another host's processes
    cannot be asked: the caller waits for their lease to run out instead."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    return host == socket.gethostname() and pid.isdigit() and not alive(int(pid))

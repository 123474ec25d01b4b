"""`python -m bot.receiver`: the Socket Mode receiver process `warroom run` starts (bot/slack/receiver.py
says why). Its composition root: the inbox writer on the same database, and the Socket Mode client."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta

from bot.log import logged
from bot.slack.receiver import Receiver
from bot.storage.inbox_writer import InboxWriter


async def main() -> None:
    inbox = InboxWriter(os.environ["DATABASE_URL"], checkpoints=False)  # warroom run checkpoints
    receiver = Receiver(inbox, owner=os.environ["WARROOM_INBOX_OWNER"],
                        lease=timedelta(seconds=float(os.environ.get("WARROOM_INBOX_LEASE", "10"))),
                        app_token=os.environ["SLACK_APP_TOKEN"], api_url=os.environ.get("SLACK_API_URL") or None)
    inbox.on_committed = receiver.pass_on  # each committed batch goes to warroom run before its acks
    with logged("inbox_connect_failed"):  # the first envelope tries again
        await inbox.open()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        await receiver.run(stop)
    finally:
        await inbox.close()


if __name__ == "__main__":
    from bot import log as logging_setup

    logging_setup.configure(os.environ.get("WARROOM_LOG_LEVEL", "INFO"))
    asyncio.run(main())

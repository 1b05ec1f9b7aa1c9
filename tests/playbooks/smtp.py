"""A real SMTP server for tests (aiosmtpd on a free loopback port): what arrives is kept, headers
and all, and a worker process is pointed at it through its environment."""

import asyncio
import email as email_parser
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import Message

from aiosmtpd.controller import Controller


class Inbox:
    """aiosmtpd handler: keeps what arrives. With `delay`, each delivery takes that long before
    the server answers (a slow mail server), other connections going on meanwhile."""

    def __init__(self, delay: float = 0) -> None:
        self.delay = delay
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 -- aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        self.messages.append(
            (
                envelope.mail_from,
                envelope.rcpt_tos,
                email_parser.message_from_bytes(envelope.content, policy=policy.default),
            )
        )
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(inbox: Inbox) -> Iterator[int]:
    """Serve `inbox` on a free loopback port; yields the port."""
    with socket.socket() as probe:  # a free loopback port (the controller checks it by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def smtp_env(port: int) -> dict[str, str]:
    """A worker's environment for sending through the server on `port`."""
    return {"EMAIL_BACKEND": "smtp", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)}

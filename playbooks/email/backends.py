"""The embedded default's mail backend: nothing leaves the machine, every message stays in the
app's outbox page (the rows are written before sending), and the log says so in one line."""

import logging
from collections.abc import Sequence

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

log = logging.getLogger(__name__)


class KeptInOutbox(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            log.info("email kept in the app (no mail server set): %r to %s", message.subject, ", ".join(message.to))
        return len(email_messages)

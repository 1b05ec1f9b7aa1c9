"""The embedded default's broker: kombu's filesystem transport, made safe to read while it is
being written.

kombu writes a message file in place and a worker may take it before the writing ends (the
writer's lock is not asked by the reader): the worker then reads half a message and stops
with a JSON error, on every start, while the file waits in the queue. Here a message is
written under a name no reader looks at and renamed into the queue when complete (a rename
is atomic), and a file that still does not parse (one left by an older writer) is dropped
and logged, never fatal.
Registered as the `filesystem://` transport by smarketing.celery.
"""

import logging
import os
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

log = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: dict, **kwargs: object) -> None:
        # Readers take files in name order: a fixed width keeps that the order they were sent
        # (kombu's unpadded "999_" sorts after "1000_").
        name = f"{round(monotonic() * 1000):016d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        writing = os.path.join(self.data_folder_out, f".{name}.writing")  # no reader takes it
        with open(writing, "wb") as file:
            file.write(str_to_bytes(dumps(payload)))
        os.replace(writing, final)

    def _get(self, queue: str) -> dict:
        while True:
            try:
                return super()._get(queue)
            except ValueError as broken:  # cut short by a crash while it was written
                log.error("skipped a broken message file in the %s queue: %s", queue, broken)


class Transport(filesystem.Transport):
    Channel = Channel

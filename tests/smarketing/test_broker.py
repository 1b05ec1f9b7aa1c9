"""The embedded broker (smarketing/lib/broker.py): a message appears in the queue only whole,
and a broken message file is dropped with a log line instead of stopping the worker."""

import json
from pathlib import Path

from kombu import Connection

import smarketing.celery  # noqa: F401 -- registers the transport as filesystem://
from smarketing.lib.broker import Transport


def connection(folder: Path) -> Connection:
    queue = folder / "queue"
    queue.mkdir(exist_ok=True)
    options = {"data_folder_in": str(queue), "data_folder_out": str(queue), "control_folder": str(folder / "control")}
    return Connection("filesystem://", transport_options=options)


def test_the_filesystem_url_is_the_safe_transport(tmp_path):
    with connection(tmp_path) as conn:
        assert isinstance(conn.transport, Transport)


def test_a_message_is_written_whole_under_its_queue_name(tmp_path):
    with connection(tmp_path) as conn:
        conn.default_channel._put("work", {"body": "hello"})
    files = sorted(path.name for path in (tmp_path / "queue").iterdir())
    assert len(files) == 1 and files[0].endswith(".work.msg")
    assert json.loads((tmp_path / "queue" / files[0]).read_text())["body"] == "hello"


def test_messages_are_read_in_the_order_they_were_sent(tmp_path, monkeypatch):
    clock = iter([0.999, 1.000])  # 999 ms, then 1000 ms: one more digit
    monkeypatch.setattr("smarketing.lib.broker.monotonic", lambda: next(clock))
    with connection(tmp_path) as conn:
        conn.default_channel._put("work", {"body": "first"})
        conn.default_channel._put("work", {"body": "second"})
        assert [conn.default_channel._get("work")["body"] for _ in range(2)] == ["first", "second"]


def test_a_broken_message_file_is_dropped_and_the_next_one_read(tmp_path, caplog):
    (tmp_path / "queue").mkdir()
    (tmp_path / "queue" / f"{0:016d}_broken.work.msg").write_bytes(b'{"body": "cut sh')  # read first
    with connection(tmp_path) as conn:
        conn.default_channel._put("work", {"body": "whole"})
        assert conn.default_channel._get("work")["body"] == "whole"
    assert "skipped a broken message file" in caplog.text

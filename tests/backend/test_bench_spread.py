"""The bench's count of the cars each serving process holds, from /proc, against real sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from backend.bench_spread import children_of, streams_per_process

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")


def test_each_listening_process_counts_the_connections_it_accepted() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        accepted = [server.accept()[0] for _ in range(2)]  # the third still waits in the queue
        idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            assert idle.pid in children_of(os.getpid())
            # The idle child holds no socket on the port: it is no serving process and is left out.
            assert streams_per_process([os.getpid(), idle.pid], port) == [2]
            accepted[0].close()
            assert streams_per_process([os.getpid()], port) == [1]
        finally:
            idle.kill()
            idle.wait()
            for connection in [*clients, *accepted]:
                connection.close()


def test_a_port_nobody_listens_on_has_no_serving_process() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert streams_per_process([os.getpid()], port) == []

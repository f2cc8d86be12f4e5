"""Several serving processes on one gRPC port (SO_REUSEPORT): Python serves about one core per process, and
the processes are stateless over the shared database, so the kernel may hand each car's stream to any; they count
their read streams together so that each takes its share (platepatrol/streams.py)."""

from __future__ import annotations

import multiprocessing
import re
import signal
import socket
import subprocess
import sys
from multiprocessing.sharedctypes import SynchronizedArray
from types import FrameType

from backend.config import BackendConfig
from backend.storage.engine import make_engine
from backend.storage.migrate import upgrade_to_head


def serve_processes(config: BackendConfig) -> None:
    """Start `config.processes` serving processes and wait for them; SIGTERM or SIGINT stops them all.
    The first (primary) one also serves the web pages and runs the schedules."""
    if config.auto_migrate:
        engine = make_engine(config.database_url)
        upgrade_to_head(engine)  # once, here, not raced by the children
        engine.dispose()
    port = config.port or _free_port(config.host)
    settings = config.model_copy(update={"port": port, "processes": 1, "auto_migrate": False})
    spawn = multiprocessing.get_context("spawn")
    streams = spawn.Array("i", config.processes)  # the read streams each process holds (backend/enforcement/spread.py)
    children = [
        spawn.Process(target=_serve_one, args=(_for_child(settings, index), index, streams), name=f"backend-{index}")
        for index in range(config.processes)
    ]
    for child in children:
        child.start()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    for child in children:
        child.join()


def _for_child(settings: BackendConfig, index: int) -> str:
    if index > 0:
        settings = settings.model_copy(update={"web": settings.web.model_copy(update={"enabled": False})})
    return settings.model_dump_json()


def _serve_one(settings_json: str, index: int, streams: SynchronizedArray[int]) -> None:
    from backend.enforcement.spread import StreamSpread
    from backend.server import serve

    serve(BackendConfig.model_validate_json(settings_json), primary=index == 0, spread=StreamSpread(streams, index))


def _free_port(host: str) -> int:
    """A port the children can all bind with SO_REUSEPORT (port 0 would give each its own)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


LISTENING = re.compile(r"backend listening on [^:]+:(\d+)")


def start_backend_process(database_url: str, processes: int = 1) -> tuple[subprocess.Popen[str], int]:
    """`platepatrol backend serve` in a process of its own (for benchmarks: the office is not the car), on a
    free port with no web pages; returns once every serving process listens."""
    command = [sys.executable, "-c", "from platepatrol.cli import main; main()", "backend", "serve"]
    command += ["--port", "0", "--web-port", "0", "--processes", str(processes), "--database-url", database_url]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    port, listening = 0, 0
    while listening < processes:
        line = process.stdout.readline()
        if not line:
            process.kill()
            raise RuntimeError("the backend did not start; run `platepatrol backend serve` to see why")
        if match := LISTENING.search(line):
            port, listening = int(match.group(1)), listening + 1
    return process, port

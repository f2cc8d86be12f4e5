"""Serving the web app with uvicorn in a thread of the backend process, beside the gRPC server."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from platepatrol.errors import UserError


class WebServer:
    """uvicorn on a background thread. The port is bound at once (so its number is known for links in mail);
    `start(app)` returns once it accepts connections."""

    def __init__(self, host: str, port: int) -> None:
        self._socket = _bind(host, port)
        self.host = host
        self.port = self._socket.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        assert self._server is not None
        self._server.run(sockets=[self._socket])

    def start(self, app: FastAPI, timeout_s: float = 10.0) -> None:
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise UserError(f"the web server did not start on {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


def _bind(host: str, port: int) -> socket.socket:
    """Bind before starting, so a port in use is a clear error and port 0 has a known number at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP by name: asyncio sets TCP_NODELAY on accepted connections only for sockets whose protocol is
    # TCP, and without it every response waits ~40 ms for the client's delayed acknowledgement.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise UserError(f"the web pages cannot listen on {host}:{port}: {error.strerror}") from None
    listener.listen(128)
    listener.set_inheritable(True)
    return listener

"""The backend process: migrate, then serve the Enforcement service with health checks and reflection."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from concurrent import futures
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from backend.config import BackendConfig
from backend.enforcement.grpc_service import SERVICE_NAME, EnforcementServicer, add_enforcement_service
from backend.enforcement.permit_mirror import PermitMirror
from backend.enforcement.retention import retention_schedule
from backend.enforcement.service import EnforcementService
from backend.enforcement.spread import StreamSpread
from backend.storage.engine import make_engine, make_session_factory
from backend.storage.migrate import upgrade_to_head
from platepatrol.errors import UserError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from backend.schedule import Every
    from backend.web.server import WebServer

log = logging.getLogger(__name__)

# Reads carry JPEG evidence; the transport admits more than the per-read limits so an oversized
# read gets an ERROR verdict for itself instead of breaking the whole stream.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

# Every read is handed between threads (gRPC's poller, the stream's reader, its answerer, the sender); with
# CPython's default 5 ms switch interval a thread woken by gRPC waits up to 5 ms for the GIL behind a busy
# one. At 0.5 ms: 4 cars with 8 reads in flight each, 570 -> 800 verdicts/s, p50 49 -> 36 ms (SQLite).
GIL_SWITCH_INTERVAL_S = 0.0005


def build_server(config: BackendConfig, spread: StreamSpread | None = None) -> tuple[grpc.Server, int]:
    """A started-ready (not yet started) server and the port it is bound to; `spread`: this process's share of
    the read streams, when it is one of several serving processes."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)  # this process serves: short GIL turns (see above)
    engine = make_engine(config.database_url, serving=True)
    if config.auto_migrate:
        upgrade_to_head(engine)
    sessions = make_session_factory(engine)
    mirror = PermitMirror(engine) if config.permit_mirror else None
    if mirror is not None:
        mirror.start()
    service = EnforcementService(sessions, config.policy, mirror)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.workers),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 1),  # several processes may serve one port (`processes` in the config)
        ],
    )
    add_enforcement_service(EnforcementServicer(service, sessions, config.limits, config.watch_poll_s, spread), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in (SERVICE_NAME, ""):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    address = f"{config.host}:{config.port}"
    port = server.add_secure_port(address, _tls(config)) if config.tls_cert else server.add_insecure_port(address)
    if port == 0:
        raise UserError(f"cannot listen on {config.host}:{config.port} (in use or not allowed)")
    return server, port


def _tls(config: BackendConfig) -> grpc.ServerCredentials:
    assert config.tls_cert is not None and config.tls_key is not None
    try:
        chain, key = config.tls_cert.read_bytes(), config.tls_key.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read the TLS certificate or key: {error}") from None
    return grpc.ssl_server_credentials([(key, chain)])


def serve(config: BackendConfig, primary: bool = True, spread: StreamSpread | None = None) -> None:
    """Serve until SIGINT or SIGTERM, then finish the calls in flight. Purges old reads on a schedule.
    With `processes` above 1, starts that many serving processes on the port; only the primary one runs the
    schedules and the web pages."""
    if config.processes > 1:
        from backend.processes import serve_processes

        serve_processes(config)
        return
    server, port = build_server(config, spread)
    retention = retention_schedule(
        make_session_factory(make_engine(config.database_url)),
        config.retention.keep_for,
        timedelta(minutes=config.retention.purge_every_minutes),
    )
    web = _web_server(config)
    server.start()
    if primary:
        retention.start()
    log.info("backend serving on %s:%d (database %s)", config.host, port, _redacted(config.database_url))
    scheme = "TLS" if config.tls_cert else "plaintext"
    print(f"backend listening on {config.host}:{port} ({scheme})", flush=True)
    chores = None
    if web is not None:
        web_server, web_app = web
        web_server.start(web_app)
        print(f"web pages on {web_server.url}", flush=True)
        if primary:
            chores = _portal_chores(config, web_app)
            chores.start()
    stopping = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stopping.wait()
    if chores is not None:
        chores.stop()
    if web is not None:
        web[0].stop()
    if primary:
        retention.stop()
    server.stop(grace=5).wait()


def _web_server(config: BackendConfig) -> tuple[WebServer, FastAPI] | None:
    """The permit office's pages, served by the same process over the same database."""
    if not config.web.enabled:
        return None
    from backend.web.app import create_app
    from backend.web.server import WebServer

    server = WebServer(config.web.host, config.web.port)
    sessions = make_session_factory(make_engine(config.database_url))
    return server, create_app(config.web, sessions, base_url=config.web.base_url or server.url, policy=config.policy)


def _portal_chores(config: BackendConfig, web_app: FastAPI) -> Every:
    """Settling payments, waitlist offers and renewal reminders, on the web app's database, mailer and links."""
    from backend.billing.chores import portal_chores_schedule
    from backend.web.context import WebContext

    context = web_app.state.web
    assert isinstance(context, WebContext)
    return portal_chores_schedule(
        context.sessions,
        config.web,
        context.mailer,
        timedelta(minutes=config.web.chores_every_minutes),
        base_url=context.base_url,
    )


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)

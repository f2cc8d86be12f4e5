"""The backend process: migrate, then serve the Enforcement service with health checks and reflection."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent import futures
from types import FrameType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from backend.config import BackendConfig
from backend.enforcement.grpc_service import EnforcementServicer
from backend.enforcement.service import EnforcementService
from backend.storage.engine import make_engine, make_session_factory
from backend.storage.migrate import upgrade_to_head
from platepatrol.errors import UserError
from platepatrol.v1 import enforcement_pb2, enforcement_pb2_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = enforcement_pb2.DESCRIPTOR.services_by_name["Enforcement"].full_name
# Reads carry JPEG evidence; the transport admits more than the per-read limits so an oversized
# read gets an ERROR verdict for itself instead of breaking the whole stream.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


def build_server(config: BackendConfig) -> tuple[grpc.Server, int]:
    """A started-ready (not yet started) server and the port it is bound to."""
    engine = make_engine(config.database_url)
    if config.auto_migrate:
        upgrade_to_head(engine)
    sessions = make_session_factory(engine)
    service = EnforcementService(sessions, config.policy)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.workers),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    enforcement_pb2_grpc.add_EnforcementServicer_to_server(
        EnforcementServicer(service, sessions, config.limits, config.watch_poll_s), server
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in (SERVICE_NAME, ""):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_insecure_port(f"{config.host}:{config.port}")
    if port == 0:
        raise UserError(f"cannot listen on {config.host}:{config.port} (in use or not allowed)")
    return server, port


def serve(config: BackendConfig) -> None:
    """Serve until SIGINT or SIGTERM, then finish the calls in flight."""
    server, port = build_server(config)
    server.start()
    log.info("backend serving on %s:%d (database %s)", config.host, port, _redacted(config.database_url))
    print(f"backend listening on {config.host}:{port}", flush=True)
    stopping = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stopping.wait()
    server.stop(grace=5).wait()


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)

"""Keeps the car's permit copy current: one `WatchPermits` stream, resumed after the last change seen."""

from __future__ import annotations

import logging
import threading

import grpc

from edge.link import Link
from edge.permit_cache import PermitCache
from edge.uplink import FATAL_CODES, Backoff, describe_rpc_error
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.v1 import enforcement_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)


class PermitWatcher:
    def __init__(self, link: Link, cache: PermitCache, backoff: Backoff | None = None) -> None:
        self._link = link
        self._target = link.target
        self._cache = cache
        self._backoff = backoff or Backoff()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._call: grpc.RpcContext | None = None
        self._thread = threading.Thread(target=self._run, name="permit-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            if self._call is not None:
                self._call.cancel()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            channel = self._link.channel()
            try:
                stub = pb_grpc.EnforcementStub(channel)
                # Resume where the copy stands; a snapshot only the first time.
                stream = stub.WatchPermits(
                    pb.WatchRequest(after_change_id=self._cache.last_change_id), metadata=self._link.metadata
                )
                with self._lock:
                    self._call = stream
                for change in stream:
                    self._cache.apply(change)
                    attempt = 0
            except grpc.RpcError as error:
                if error.code() in FATAL_CODES:
                    log.error("permit copy stopped: %s", describe_rpc_error(error, self._target))
                    return
                if not self._stopping.is_set():
                    log.info("permit watch interrupted (%s); retrying", describe_rpc_error(error, self._target))
            finally:
                channel.close()
            self._stopping.wait(self._backoff.delay(attempt))
            attempt += 1

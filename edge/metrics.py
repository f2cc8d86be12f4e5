"""The car's Prometheus metrics: frames, drops, reads, verdicts, latency, outbox depth and link state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0)


class EdgeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.frames = Counter("platepatrol_frames", "Frames processed", ["camera"], registry=self.registry)
        self.dropped = Gauge(
            "platepatrol_frames_dropped", "Frames a live camera dropped", ["camera"], registry=self.registry
        )
        self.fps = Gauge("platepatrol_fps", "Frames processed per second, recently", ["camera"], registry=self.registry)
        self.reads = Counter("platepatrol_reads", "Voted reads sent", ["camera"], registry=self.registry)
        self.verdicts = Counter(
            "platepatrol_verdicts", "Verdicts shown", ["outcome", "provisional"], registry=self.registry
        )
        self.latency = Histogram(
            "platepatrol_capture_to_verdict_seconds",
            "From the capture of the frame that completed a read to its verdict on screen",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.outbox_depth = Gauge("platepatrol_outbox_depth", "Reads waiting for a verdict", registry=self.registry)
        self.link_up = Gauge("platepatrol_link_up", "1 while the stream to the backend is up", registry=self.registry)

    def serve(self, port: int) -> None:
        """Expose /metrics on `port` (0 picks a free one)."""
        start_http_server(port, registry=self.registry)

from prometheus_client import generate_latest

from edge.metrics import EdgeMetrics


def test_metrics_are_exposed_in_the_prometheus_format() -> None:
    metrics = EdgeMetrics()
    metrics.frames.labels("front").inc(3)
    metrics.dropped.labels("front").set(1)
    metrics.latency.observe(0.12)
    metrics.outbox_depth.set(4)
    metrics.link_up.set(1)
    text = generate_latest(metrics.registry).decode()
    assert 'platepatrol_frames_total{camera="front"} 3.0' in text
    assert 'platepatrol_frames_dropped{camera="front"} 1.0' in text
    assert 'platepatrol_capture_to_verdict_seconds_bucket{le="0.2"} 1.0' in text
    assert "platepatrol_outbox_depth 4.0" in text and "platepatrol_link_up 1.0" in text


def test_two_instances_do_not_share_a_registry() -> None:
    first, second = EdgeMetrics(), EdgeMetrics()
    first.reads.labels("front").inc()
    assert 'platepatrol_reads_total{camera="front"}' not in generate_latest(second.registry).decode()

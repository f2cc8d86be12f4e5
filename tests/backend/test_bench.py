"""`platepatrol bench backend` end to end at a tiny size: it must measure real verdicts, not time a test."""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from shapely.geometry import Point
from sqlalchemy import func, select

from backend.bench import (
    CAR_DEVICE_PREFIX,
    CITY,
    JPEG,
    ZONE_GRID,
    Fleet,
    _city_zones,
    _encoded_read,
    _watch_spread,
    bench_backend,
    bench_transport,
    city_point,
    rates_by_window,
)
from backend.config import ReadLimits
from backend.devices.models import Device
from backend.enforcement.models import ReadRecord, VerdictRecord
from backend.enforcement.wire import datetime_to_timestamp, read_from_proto
from backend.permits.zones import parse_zone_geometry
from backend.storage.base import utc_now
from backend.storage.engine import make_engine
from platepatrol.v1 import enforcement_pb2 as pb

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("batched", [True, False], ids=["batches", "one-read-each"])
def test_the_cars_get_verdicts_that_the_database_stores(tmp_path: Path, batched: bool) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    fleet = Fleet(cars=2, seconds=3, window=4, batched=batched, rate_window_s=1.0)
    result = bench_backend(url, permits=50, reads=100, fleet=fleet)
    assert (result.database, result.permits, result.stored_reads, result.cars) == ("sqlite", 50, 100, 2)
    assert result.messages == ("batches of reads" if batched else "one read each")
    assert result.verdicts > 0 and 0 < result.latency_p50_ms <= result.latency_p99_ms
    with make_engine(url).connect() as connection:
        stored = connection.scalar(select(func.count()).select_from(VerdictRecord))
        in_zones = connection.scalar(select(func.count()).where(VerdictRecord.zone_id.is_not(None)))
        reads_by_car = (
            connection.execute(
                select(func.count())
                .select_from(ReadRecord)
                .join(Device, ReadRecord.device_id == Device.id)
                .where(Device.name.startswith(CAR_DEVICE_PREFIX))
                .group_by(Device.id)
            )
            .scalars()
            .all()
        )
    assert len(reads_by_car) == 2 and sum(reads_by_car) == result.verdicts  # each car streamed as its own device
    assert stored == 100 + result.verdicts  # every verdict the cars counted was decided and stored
    by_second = result.verdicts_per_s_by_window  # whole seconds once both cars answered, none beyond the count
    assert 1 <= len(by_second) <= int(result.seconds) and min(by_second) > 0 and sum(by_second) <= result.verdicts
    assert result.cars_per_process == [2]  # both cars' streams, served by this one process
    assert in_zones and in_zones > result.verdicts / 2  # the cars read in the bench city's zones


def test_each_run_starts_from_the_filled_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    fleet = Fleet(cars=1, seconds=1, window=4)
    first = bench_backend(url, permits=50, reads=100, fleet=fleet)
    second = bench_backend(url, permits=50, reads=100, fleet=fleet)
    assert first.verdicts > 0 and first.stored_reads == second.stored_reads == 100  # the first run's cars are gone


@pytest.mark.parametrize("batched", [True, False], ids=["batches", "one-read-each"])
def test_the_transport_ceiling_answers_every_read(batched: bool) -> None:
    result = bench_transport(Fleet(cars=1, seconds=1, window=4, batched=batched))
    assert result.database == "none (transport only)" and result.verdicts > 0
    assert result.verdicts_per_s == pytest.approx(result.verdicts / result.seconds, rel=0.01)
    assert result.verdicts_per_s_by_window == []  # a run shorter than one whole window


def test_the_rate_is_given_for_each_whole_window_of_the_run() -> None:
    answered_at = [0.5] * 30 + [10.0] * 20 + [19.9] * 5 + [25.0] * 100  # the last 5.5 s are no whole window
    assert rates_by_window(answered_at, elapsed=25.5, window_s=10.0) == [3.0, 2.5]
    assert rates_by_window([0.1, 0.2], elapsed=9.9, window_s=10.0) == []


def test_a_simulated_read_is_a_whole_valid_read() -> None:
    captured_at = datetime_to_timestamp(utc_now())
    read_id, encoded = _encoded_read(random.Random(1), 50, captured_at)
    read = pb.PlateRead.FromString(encoded)
    assert read.read_id == read_id and read.plate_text.startswith("P") and read.captured_at == captured_at
    assert (read.camera_id, read.frames_voted, read.evidence.crop_jpeg) == ("front", 3, JPEG)
    assert read_from_proto(read, "bench-car-1", ReadLimits(), utc_now()).plate == read.plate_text
    assert abs(read.gps.latitude - CITY[0]) < 0.02 and abs(read.gps.longitude - CITY[1]) < 0.02


def test_the_bench_city_has_zones_with_and_without_a_time_limit() -> None:
    zones = _city_zones()
    assert len(zones) == ZONE_GRID**2 and len({zone.code for zone in zones}) == len(zones)
    limits = [zone.time_limit_minutes for zone in zones]
    assert limits.count(None) == len(zones) // 2
    areas = [parse_zone_geometry(zone.geojson).area for zone in zones]
    assert max(areas) / min(areas) < 1.01  # the same size, and each a valid polygon
    shapes = [parse_zone_geometry(zone.geojson) for zone in zones]
    rng = random.Random(3)
    points = [Point(longitude, latitude) for latitude, longitude in (city_point(rng) for _ in range(2000))]
    inside = sum(any(shape.contains(point) for shape in shapes) for point in points)
    assert 0.5 < inside / len(points) < 0.9  # most reads in a zone, some outside every zone


def test_several_serving_processes_take_their_share_of_the_cars(tmp_path: Path) -> None:
    # The kernel alone would split 4 cars 2 + 2 over 2 processes only 6 times in 16 (platepatrol/streams.py).
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    result = bench_backend(url, permits=50, reads=100, fleet=Fleet(cars=4, seconds=3, window=4), processes=2)
    assert result.cars_per_process == [2, 2] and result.verdicts > 0


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def _spread_watched(port: int, cars: int, meanwhile: Callable[[], None] = lambda: None) -> list[int]:
    """What the bench's watch of the cars' split reports for this process's connections on `port`; `meanwhile`
    runs while it watches. The watch must end by itself."""
    spread: list[int] = []
    watching = threading.Thread(
        target=_watch_spread, args=([os.getpid()], port, cars, threading.Event(), spread), daemon=True
    )
    watching.start()
    meanwhile()
    watching.join(timeout=10)
    assert not watching.is_alive()
    return spread


def test_the_spread_is_watched_until_every_car_is_seen_and_no_longer() -> None:
    # Each look at /proc costs the machine being measured: the watch ends once it has seen every car twice.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        accepted = [server.accept()[0] for _ in clients]
        try:
            assert _spread_watched(port, cars=2) == [2]
        finally:
            for connection in [*clients, *accepted]:
                connection.close()


def test_a_refused_cars_lingering_connection_is_not_counted_as_a_car() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]  # one is a refused car's
        accepted = [server.accept()[0] for _ in clients]

        def refused_one_closes() -> None:
            time.sleep(1.5)  # the first reading sees three connections
            for connection in (clients.pop(), accepted.pop()):
                connection.close()

        try:
            assert _spread_watched(port, cars=2, meanwhile=refused_one_closes) == [2]
        finally:
            for connection in [*clients, *accepted]:
                connection.close()

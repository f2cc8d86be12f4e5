"""`platepatrol bench backend`: verdicts per second over gRPC from simulated cars, with a full database.

Fills a database with permits, stored reads and a city of zones (once; reused when asked again), starts the real
server in this process, and has each car stream reads, each with a GPS fix in the city, as fast as verdicts come
back, several in flight at once.
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent import futures
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import Session

from backend.bench_spread import children_of, streams_per_process
from backend.config import BackendConfig
from backend.devices.models import Device
from backend.devices.tokens import add_device
from backend.enforcement.grpc_service import SERVICE_NAME
from backend.enforcement.models import ReadRecord, VerdictRecord
from backend.enforcement.wire import datetime_to_timestamp
from backend.permits.models import Permit, PermitRevision, PermitStatus, Vehicle, Zone, permit_vehicles
from backend.processes import start_backend_process
from backend.server import GIL_SWITCH_INTERVAL_S, build_server
from backend.storage.base import new_id, utc_now
from backend.storage.engine import make_engine, make_session_factory
from backend.storage.migrate import upgrade_to_head
from platepatrol.ids import new_read_id
from platepatrol.streams import ADMITTED, ATTEMPT, refused_to_rebalance
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.verdicts import Outcome, Reason

# The size of a small plate crop, and as incompressible as one (JPEG's coded data does not compress): PostgreSQL tries
# to compress a row's large values, and zeros would make its rows small and cheap as real crops never are.
JPEG = b"\xff\xd8\xff\xe0" + random.Random(0).randbytes(2000)
CAR_DEVICE_PREFIX = "bench-car-"  # the filled history's device is "bench-history"
BATCH = 10_000
Row = dict[str, Any]

# The bench city: a 4 x 4 grid of 500 m zones around CITY, every other one with a 2-hour limit (overtime lookups),
# and reads anywhere in a square 20 % wider (some outside every zone).
CITY = (44.4300, 26.1000)
ZONE_GRID = 4
ZONE_SIDE_M = 500.0
TIME_LIMIT_MINUTES = 120
_M_PER_DEG_LAT = 111_320.0


@dataclass(frozen=True)
class Answers:
    """What one car saw: each verdict's latency (ms) and the wall-clock time it came (comparable across processes)."""

    latencies_ms: list[float] = field(default_factory=list)
    at: list[float] = field(default_factory=list)
    steady_from: float = 0.0  # when every car had its first answer (the cars start one by one), in the times of `at`


@dataclass(frozen=True)
class CarResult:
    verdicts: int
    answers: Answers
    began: float
    ended: float


@dataclass(frozen=True)
class BackendBenchResult:
    database: str
    permits: int
    stored_reads: int
    processes: int
    cars: int
    reads_in_flight_per_car: int
    messages: str
    verdicts: int
    seconds: float
    verdicts_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float
    verdicts_per_s_by_window: list[float] = field(default_factory=list)  # each whole rate_window_s of the run
    cars_per_process: list[int] | None = None  # the cars each serving process held (None: not measurable here)


def plate_of(number: int) -> str:
    return f"P{number:07d}"


def _permit_batch(numbers: range, now: datetime) -> tuple[list[Row], list[Row], list[Row], list[Row]]:
    """Rows for one batch of permitted vehicles: vehicles, permits, their links and first revisions."""
    vehicles: list[Row] = []
    permits: list[Row] = []
    links: list[Row] = []
    revisions: list[Row] = []
    for n in numbers:
        vehicle = {
            "id": new_id(),
            "plate": plate_of(n),
            "jurisdiction": "",
            "make": "",
            "colour": "",
            "created_at": now,
        }
        terms = {"valid_from": now - timedelta(days=30), "valid_until": now + timedelta(days=300)}
        permit = {"id": new_id(), "code": f"B-{n:07d}", "holder_name": "", "status": PermitStatus.ACTIVE, **terms}
        vehicles.append(vehicle)
        permits.append({**permit, "revision": 1, "updated_at": now})
        links.append({"permit_id": permit["id"], "vehicle_id": vehicle["id"]})
        revisions.append(
            {
                "permit_id": permit["id"],
                "revision": 1,
                "recorded_at": now,
                "code": permit["code"],
                "plates": [vehicle["plate"]],
                "zone_ids": [],
                "hours": [],
                "timezone": "UTC",
                "status": PermitStatus.ACTIVE,
                **terms,
            }
        )
    return vehicles, permits, links, revisions


def _read_batch(
    ids: list[str], device_id: str, permits: int, now: datetime, rng: random.Random
) -> tuple[list[Row], list[Row]]:
    """Rows for one batch of past reads (as permitted verdicts) spread over the last two days."""
    reads: list[Row] = []
    verdicts: list[Row] = []
    for read_id in ids:
        captured = now - timedelta(minutes=rng.randint(1, 60 * 48))
        latitude, longitude = city_point(rng)
        reads.append(
            {
                "id": read_id,
                "device_id": device_id,
                "camera_id": "front",
                "captured_at": captured,
                "received_at": captured,
                "plate": plate_of(rng.randrange(permits * 2)),
                "confidence": 0.9,
                "char_confidences": [],
                "alternatives": [],
                "frames_voted": 3,
                "latitude": latitude,
                "longitude": longitude,
                "crop_jpeg": JPEG[:200],
            }
        )
        verdicts.append(
            {
                "read_id": read_id,
                "outcome": Outcome.PERMITTED,
                "reason": Reason.VALID_PERMIT,
                "sentence": "",
                "decided_at": captured,
                "permit_data_age_s": 0.0,
            }
        )
    return reads, verdicts


def _degrees(metres: float) -> tuple[float, float]:
    """`metres` as degrees of latitude and of longitude at the bench city."""
    return metres / _M_PER_DEG_LAT, metres / (_M_PER_DEG_LAT * math.cos(math.radians(CITY[0])))


def city_point(rng: random.Random) -> tuple[float, float]:
    """A random point of the bench city (latitude, longitude), 10 % of it beyond the zones on each side."""
    half_lat, half_lon = _degrees(ZONE_GRID * ZONE_SIDE_M * 0.6)
    return CITY[0] + rng.uniform(-half_lat, half_lat), CITY[1] + rng.uniform(-half_lon, half_lon)


def _city_zones() -> list[Zone]:
    """The bench city's zones: squares of ZONE_SIDE_M in a ZONE_GRID x ZONE_GRID grid, every other one limited."""
    side_lat, side_lon = _degrees(ZONE_SIDE_M)
    south, west = CITY[0] - side_lat * ZONE_GRID / 2, CITY[1] - side_lon * ZONE_GRID / 2
    zones = []
    for row in range(ZONE_GRID):
        for column in range(ZONE_GRID):
            bottom, left = south + row * side_lat, west + column * side_lon
            top, right = bottom + side_lat, left + side_lon
            ring = [[left, bottom], [right, bottom], [right, top], [left, top], [left, bottom]]  # GeoJSON: lon, lat
            limited = (row + column) % 2 == 0
            zones.append(
                Zone(
                    code=f"BENCH-{row}{column}",
                    name=f"Bench zone {row}{column}",
                    geojson=json.dumps({"type": "Polygon", "coordinates": [ring]}),
                    time_limit_minutes=TIME_LIMIT_MINUTES if limited else None,
                )
            )
    return zones


def _ensure_city(session: Session) -> None:
    """The bench city's zones, once: permits cover every zone (their type lists none), plates without one are
    violations in a zone without a limit and overtime in one with a limit when seen again after 2 hours."""
    if session.scalar(select(func.count()).select_from(Zone).where(Zone.code.startswith("BENCH-"))):
        return
    session.add_all(_city_zones())
    session.commit()


def _history_device(session: Session) -> str:
    device = session.scalar(select(Device).where(Device.name == "bench-history"))
    if device is None:
        add_device(session, "bench-history")
        session.commit()
        device = session.scalar(select(Device).where(Device.name == "bench-history"))
    assert device is not None
    return device.id


def fill(session: Session, permits: int, reads: int) -> None:
    """Bring the database up to `permits` permits and `reads` stored reads, in bulk. Bulk inserts bypass the
    ORM's revision hook, so the first revisions are written here too."""
    now = utc_now()
    have_permits = session.scalar(select(func.count()).select_from(Permit)) or 0
    have_reads = session.scalar(select(func.count()).select_from(ReadRecord)) or 0
    with Progress(console=Console(stderr=True)) as progress:  # stdout carries only the JSON result
        task = progress.add_task("permits", total=permits, completed=have_permits)
        for start in range(have_permits, permits, BATCH):
            vehicles, rows, links, revisions = _permit_batch(range(start, min(start + BATCH, permits)), now)
            for table, batch in (
                (Vehicle, vehicles),
                (Permit, rows),
                (permit_vehicles, links),
                (PermitRevision, revisions),
            ):
                session.execute(insert(table), batch)
            session.commit()
            progress.update(task, advance=len(rows))
        _ensure_city(session)
        device_id = _history_device(session)
        task = progress.add_task("stored reads", total=reads, completed=have_reads)
        rng = random.Random(have_reads)
        for start in range(have_reads, reads, BATCH):
            ids = [f"hist-{n}" for n in range(start, min(start + BATCH, reads))]
            read_rows, verdict_rows = _read_batch(ids, device_id, permits, now, rng)
            session.execute(insert(ReadRecord), read_rows)
            session.execute(insert(VerdictRecord), verdict_rows)
            session.commit()
            progress.update(task, advance=len(ids))


@dataclass(frozen=True)
class Fleet:
    """The simulated cars: each streams for `seconds`, keeping `window` reads in flight, several to a message
    (whatever its window allows, as the car's uplink sends its outbox) or one read per message."""

    cars: int = 4
    seconds: float = 20.0
    window: int = 32
    batched: bool = True
    rate_window_s: float = 10.0  # the rate is also given for each whole window this long: "sustained" is the slowest


@dataclass(frozen=True)
class CarPlan:
    fleet: Fleet
    target: str
    tokens: tuple[str, ...]  # car i streams as device i: each car is a device of its own, as in the fleet
    permits: int  # the plates read are drawn from twice as many: half have a permit


# What every simulated read carries besides its id, plate and time, encoded once: a message's encoding followed by
# another's is the encoding of both messages' fields, so each read costs its car only its own few fields.
_READ_TAIL = pb.PlateRead(
    camera_id="front", confidence=0.95, frames_voted=3, evidence=pb.Evidence(crop_jpeg=JPEG)
).SerializeToString()


def _encoded_read(rng: random.Random, permits: int, captured_at: Timestamp) -> tuple[str, bytes]:
    """A read's id and its encoded PlateRead, as the car's outbox holds it."""
    read_id = new_read_id()  # time-ordered, as the car makes them
    latitude, longitude = city_point(rng)
    head = pb.PlateRead(
        read_id=read_id,
        plate_text=plate_of(rng.randrange(permits * 2)),
        captured_at=captured_at,
        gps=pb.GpsFix(latitude=latitude, longitude=longitude, accuracy_m=5.0),
    )
    return read_id, head.SerializeToString() + _READ_TAIL


def _open_stream(channel: grpc.aio.Channel, batched: bool, token: str, refusals: int) -> Any:
    """A car's stream, written with encoded reads: one PlateRead each, or a batch (EncodedPlateReadBatch is
    PlateReadBatch on the wire)."""
    method, serializer, deserializer = (
        ("StreamReadBatches", pb.EncodedPlateReadBatch.SerializeToString, pb.VerdictBatch.FromString)
        if batched
        else ("StreamReads", bytes, pb.Verdict.FromString)
    )
    stream = channel.stream_stream(
        f"/{SERVICE_NAME}/{method}", request_serializer=serializer, response_deserializer=deserializer
    )
    return stream(metadata=(("authorization", f"Bearer {token}"), (ATTEMPT, str(refusals))))


async def _car(plan: CarPlan, answers: Answers, car: int) -> int:
    """One simulated car on one stream; returns its verdicts. asyncio gRPC, one thread, reads encoded by
    hand: the cars share the machine with the server, so they should cost it little. Like the car's uplink, it
    connects again at once when a serving process refuses its stream for having its share of cars."""
    deadline = time.monotonic() + plan.fleet.seconds
    refusals = 0
    while True:
        # A connection of its own (no subchannel shared with an earlier channel): a new try is a new connection.
        async with grpc.aio.insecure_channel(plan.target, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            call = _open_stream(channel, plan.fleet.batched, plan.tokens[car % len(plan.tokens)], refusals)
            if await _admitted(call):
                return await _stream_reads(
                    call, plan, random.Random(car), answers, deadline
                )  # its index seeds its reads
        refusals += 1


async def _admitted(call: Any) -> bool:
    """Whether the office took the stream; False when it refused it to spread the cars; raises if it failed."""
    if any(key == ADMITTED for key, _ in await call.initial_metadata()):
        return True
    code = await call.code()
    if refused_to_rebalance(code, await call.trailing_metadata()):
        return False
    raise RuntimeError(f"the office refused a car's stream: {code.name} {await call.details()}")


async def _stream_reads(call: Any, plan: CarPlan, rng: random.Random, answers: Answers, deadline: float) -> int:
    """Keep the fleet's window of reads in flight on `call` until `deadline`; returns the verdicts."""
    sent_at: dict[str, float] = {}
    free = asyncio.Condition()
    fleet = plan.fleet
    slots = [fleet.window]  # reads that may be sent now

    async def send() -> None:
        while time.monotonic() < deadline:
            async with free:
                await free.wait_for(lambda: slots[0] > 0)
                count = slots[0] if fleet.batched else 1
                slots[0] -= count
            captured_at = datetime_to_timestamp(utc_now())
            reads = [_encoded_read(rng, plan.permits, captured_at) for _ in range(count)]
            now = time.monotonic()
            sent_at.update((read_id, now) for read_id, _ in reads)
            encoded = [read for _, read in reads]
            await call.write(pb.EncodedPlateReadBatch(reads=encoded) if fleet.batched else encoded[0])
        await call.done_writing()

    async def answered(verdicts: list[pb.Verdict]) -> None:
        now, wall = time.monotonic(), time.time()
        answers.latencies_ms.extend((now - sent_at.pop(verdict.read_id)) * 1000.0 for verdict in verdicts)
        answers.at.extend(wall for _ in verdicts)
        async with free:
            slots[0] += len(verdicts)
            free.notify()

    sending = asyncio.create_task(send())
    async for answer in call:
        await answered(list(answer.verdicts) if fleet.batched else [answer])
    await sending
    return len(answers.latencies_ms)


class _BackendUnderTest:
    """The real server: in this process, or, for several serving processes, `backend serve --processes`."""

    def __init__(self, database_url: str, processes: int, workers: int) -> None:
        self._server: grpc.Server | None = None
        self._process: subprocess.Popen[str] | None = None
        if processes == 1:
            self._server, self.port = build_server(BackendConfig(database_url=database_url, port=0, workers=workers))
            self._server.start()
        else:
            self._process, self.port = start_backend_process(database_url, processes)

    @property
    def pids(self) -> list[int]:
        """The serving processes' ids."""
        return [os.getpid()] if self._process is None else children_of(self._process.pid)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None)
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=60)


def _car_process(plan: CarPlan, car: int, results: multiprocessing.Queue[CarResult]) -> None:
    answers = Answers()
    began = time.time()  # wall clock: comparable across the cars' processes
    count = asyncio.run(_car(plan, answers, car))
    results.put(CarResult(count, answers, began, time.time()))


def bench_backend(database_url: str, permits: int, reads: int, fleet: Fleet, processes: int = 1) -> BackendBenchResult:
    """The fleet against the real server on `database_url`, filled first. The reads of earlier runs' cars are
    removed first, so every run starts from the same table sizes."""
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    sessions = make_session_factory(engine)
    with sessions() as session:
        fill(session, permits, reads)
        remove_car_reads(session)
        tokens = tuple(add_device(session, f"{CAR_DEVICE_PREFIX}{uuid.uuid4().hex[:8]}") for _ in range(fleet.cars))
        session.commit()
        stored = session.scalar(select(func.count()).select_from(ReadRecord)) or 0
    settle(engine)
    server = _BackendUnderTest(database_url, processes, workers=max(8, fleet.cars * 2))
    spread: list[int] = []
    done = threading.Event()
    watching = threading.Thread(
        target=_watch_spread, args=(server.pids, server.port, fleet.cars, done, spread), daemon=True
    )
    try:
        watching.start()
        counts, answers, elapsed = _drive_cars(CarPlan(fleet, f"127.0.0.1:{server.port}", tokens, permits))
    finally:
        done.set()
        watching.join()
        server.stop()
        engine.dispose()
    result = _result(engine.dialect.name, permits, stored, processes, fleet, counts, answers, elapsed)
    return replace(result, cars_per_process=sorted(spread, reverse=True) or None)


def _watch_spread(pids: list[int], port: int, cars: int, done: threading.Event, spread: list[int]) -> None:
    """Keep in `spread` the cars each serving process holds, as seen once the most cars were connected (the cars
    start one by one). Once a second, and no more once every car is seen in two readings in a row that agree: a
    refused car's connection can linger for a moment after it was refused, and count as a car where it is not one;
    a taken stream stays where it is. Each reading of /proc costs the server's machine (~50 ms of a core, with the
    serving thread's GIL when there is one serving process)."""
    previous: list[int] | None = None
    while not done.wait(1.0):
        now = streams_per_process(pids, port)
        if now is None:
            return
        if sum(spread) < sum(now) <= cars:  # more than the cars: a refused car's connection is still open
            spread[:] = now
        if sum(now) == cars and now == previous:
            return
        previous = now


def settle(engine: Engine) -> None:
    """Leave no clean-up from the fill and the removal to run during the measurement: SQLite's log copied into
    the file and emptied; PostgreSQL's dead rows vacuumed (autovacuum would otherwise start mid-run)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            connection.exec_driver_sql(f"VACUUM (ANALYZE) {ReadRecord.__tablename__}, {VerdictRecord.__tablename__}")


def remove_car_reads(session: Session) -> None:
    """Delete the simulated cars' devices, reads and verdicts; the filled history stays."""
    cars = select(Device.id).where(Device.name.startswith(CAR_DEVICE_PREFIX))
    read_ids = select(ReadRecord.id).where(ReadRecord.device_id.in_(cars))
    session.execute(delete(VerdictRecord).where(VerdictRecord.read_id.in_(read_ids)))
    session.execute(delete(ReadRecord).where(ReadRecord.device_id.in_(cars)))
    session.execute(delete(Device).where(Device.id.in_(cars)))
    session.commit()


def _answer_at_once(request_iterator: Iterator[pb.PlateRead], context: grpc.ServicerContext) -> Iterator[pb.Verdict]:
    """Each read answered at once with a fixed verdict: no validation, no database. What the same cars reach
    against it is the ceiling that gRPC and Python on this machine put on the real service."""
    context.send_initial_metadata(((ADMITTED, "1"),))
    for read in request_iterator:
        yield _fixed_verdict(read)


def _answer_batches_at_once(
    request_iterator: Iterator[pb.PlateReadBatch], context: grpc.ServicerContext
) -> Iterator[pb.VerdictBatch]:
    """`_answer_at_once` for the batched stream."""
    context.send_initial_metadata(((ADMITTED, "1"),))
    for batch in request_iterator:
        yield pb.VerdictBatch(verdicts=[_fixed_verdict(read) for read in batch.reads])


def _fixed_verdict(read: pb.PlateRead) -> pb.Verdict:
    return pb.Verdict(read_id=read.read_id, outcome=pb.PERMITTED, sentence="transport only")


def bench_transport(fleet: Fleet) -> BackendBenchResult:
    """The cars of `bench_backend` against a server that answers at once, served as the real one is."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max(8, fleet.cars * 2)))
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "StreamReads": grpc.stream_stream_rpc_method_handler(
            _answer_at_once,
            request_deserializer=pb.PlateRead.FromString,
            response_serializer=pb.Verdict.SerializeToString,
        ),
        "StreamReadBatches": grpc.stream_stream_rpc_method_handler(
            _answer_batches_at_once,
            request_deserializer=pb.PlateReadBatch.FromString,
            response_serializer=pb.VerdictBatch.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        counts, answers, elapsed = _drive_cars(CarPlan(fleet, f"127.0.0.1:{port}", ("",), 1))
    finally:
        server.stop(grace=None)
    return _result("none (transport only)", 0, 0, 1, fleet, counts, answers, elapsed)


def _drive_cars(plan: CarPlan) -> tuple[list[int], Answers, float]:
    """Each car's verdict count, every verdict's latency and time (the times from the first car's start), and the
    seconds from the first car's start to the last car's end."""
    # Each car is a process of its own, as real cars are: the cars' Python does not share the server's GIL.
    spawn = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[CarResult] = spawn.Queue()
    cars = plan.fleet.cars
    car_processes = [spawn.Process(target=_car_process, args=(plan, index, results)) for index in range(cars)]
    finished: list[CarResult] = []
    try:
        for process in car_processes:
            process.start()
        for _ in car_processes:
            finished.append(results.get(timeout=plan.fleet.seconds + 120))
        for process in car_processes:
            process.join()
    finally:
        for process in car_processes:
            if process.is_alive():
                process.kill()
    # From the first car's start to the last car's end: cars that start late only lower the rate.
    began = min(car.began for car in finished)
    elapsed = max(car.ended for car in finished) - began
    answers = Answers(
        [latency for car in finished for latency in car.answers.latencies_ms],
        [at - began for car in finished for at in car.answers.at],
        max((car.answers.at[0] - began for car in finished if car.answers.at), default=0.0),
    )
    return [car.verdicts for car in finished], answers, elapsed


def _result(
    database: str,
    permits: int,
    stored: int,
    processes: int,
    fleet: Fleet,
    counts: list[int],
    answers: Answers,
    elapsed: float,
) -> BackendBenchResult:
    ordered = sorted(answers.latencies_ms)
    return BackendBenchResult(
        database=database,
        permits=permits,
        stored_reads=stored,
        processes=processes,
        cars=fleet.cars,
        reads_in_flight_per_car=fleet.window,
        messages="batches of reads" if fleet.batched else "one read each",
        verdicts=sum(counts),
        seconds=round(elapsed, 2),
        verdicts_per_s=round(sum(counts) / elapsed, 1),
        latency_p50_ms=round(statistics.median(ordered), 2) if ordered else 0.0,
        latency_p99_ms=round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2) if ordered else 0.0,
        verdicts_per_s_by_window=rates_by_window(
            [at - answers.steady_from for at in answers.at], elapsed - answers.steady_from, fleet.rate_window_s
        ),
    )


def rates_by_window(answered_at: list[float], elapsed: float, window_s: float) -> list[float]:
    """Verdicts per second in each whole `window_s` of the run (times in seconds from its start, which is when
    every car was answering: the cars' start-up is no window); the part after the last whole window is left out."""
    windows = int(elapsed // window_s)
    counts = [0] * windows
    for at in answered_at:
        index = int(at // window_s)
        if 0 <= index < windows:
            counts[index] += 1
    return [round(count / window_s, 1) for count in counts]


def result_json(result: BackendBenchResult) -> dict[str, object]:
    return asdict(result)

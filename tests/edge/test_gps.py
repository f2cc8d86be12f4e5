import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.gps import GpsSource, NmeaDevice, NoGps, RouteReplay, gpsd_fix, gpx_points, nmea_fix, open_gps
from edge.types import Fix
from platepatrol.errors import UserError
from tests.conftest import REPO

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ROUTE_T0 = datetime(2020, 1, 1, tzinfo=UTC)


def test_replay_interpolates_in_step_with_the_patrol() -> None:
    route = RouteReplay([Fix(44.0, 26.0, ROUTE_T0), Fix(44.001, 26.0, ROUTE_T0 + timedelta(seconds=10))], START)
    fix = route.fix_at(START + timedelta(seconds=5))
    assert fix is not None
    assert (fix.latitude, fix.longitude) == pytest.approx((44.0005, 26.0))
    assert fix.heading_deg == pytest.approx(0.0, abs=0.1)
    assert fix.speed_mps == pytest.approx(11.12, rel=0.01)
    assert fix.fixed_at == START + timedelta(seconds=5)


@pytest.mark.parametrize("offset_s", [-1.0, 10.5])
def test_no_fix_outside_the_recording(offset_s: float) -> None:
    route = RouteReplay([Fix(44.0, 26.0, ROUTE_T0), Fix(44.001, 26.0, ROUTE_T0 + timedelta(seconds=10))], START)
    assert route.fix_at(START + timedelta(seconds=offset_s)) is None


def test_a_route_needs_two_points() -> None:
    with pytest.raises(UserError, match="at least two"):
        RouteReplay([Fix(44.0, 26.0, ROUTE_T0)], START)


def test_the_demo_route_loads() -> None:
    points = gpx_points(REPO / "demo" / "route.gpx")
    assert len(points) >= 2 and all(44 < p.latitude < 45 for p in points)


def test_bad_gpx_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "route.gpx"
    bad.write_text("<gpx><trk>")
    with pytest.raises(UserError, match="not valid GPX"):
        gpx_points(bad)
    with pytest.raises(UserError, match="No such file"):
        gpx_points(tmp_path / "absent.gpx")


RMC = "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A"


def sentence(body: str) -> str:
    """An NMEA sentence with its checksum (XOR of the characters between $ and *)."""
    checksum = 0
    for char in body:
        checksum ^= ord(char)
    return f"${body}*{checksum:02X}"


def test_nmea_rmc() -> None:
    fix = nmea_fix(RMC)
    assert fix is not None
    assert (fix.latitude, fix.longitude) == pytest.approx((48.1173, 11.5166667))
    assert fix.fixed_at == datetime(1994, 3, 23, 12, 35, 19, tzinfo=UTC)
    assert fix.heading_deg == pytest.approx(84.4) and fix.speed_mps == pytest.approx(22.4 * 0.514444)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "garbage",
        RMC.replace("*6A", "*00"),  # bad checksum
        "$GPRMC,123519,V,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*7D",  # void: no fix
    ],
)
def test_nmea_without_a_fix(line: str) -> None:
    assert nmea_fix(line) is None


def test_gpsd_reports() -> None:
    fix = gpsd_fix(
        '{"class":"TPV","mode":3,"time":"2026-11-25T12:00:00.000Z","lat":44.4,"lon":26.1,"track":90,"speed":5}'
    )
    assert fix is not None and (fix.latitude, fix.heading_deg, fix.speed_mps) == (44.4, 90.0, 5.0)
    assert gpsd_fix('{"class":"TPV","mode":1}') is None  # no fix yet
    assert gpsd_fix('{"class":"SKY"}') is None and gpsd_fix("{not json") is None


def test_open_gps_from_config(tmp_path: Path) -> None:
    assert isinstance(open_gps("none", None, "", 0, 2.0, START), NoGps)
    nmea = tmp_path / "drive.nmea"
    later = sentence("GPRMC,123529,A,4807.138,N,01131.000,E,022.4,084.4,230394,003.1,W")
    assert sentence(RMC[1:-3]) == RMC
    nmea.write_text(f"{RMC}\n{later}\n")
    replay = open_gps("nmea", nmea, "", 0, 2.0, START)
    assert replay.fix_at(START + timedelta(seconds=5)) is not None
    with pytest.raises(UserError, match=r"needs gps\.path"):
        open_gps("gpx", None, "", 0, 2.0, START)


def test_replay_follows_the_recording_clock_when_frames_have_one() -> None:
    route = RouteReplay([Fix(44.0, 26.0, ROUTE_T0), Fix(44.001, 26.0, ROUTE_T0 + timedelta(seconds=10))], START)
    much_later = START + timedelta(hours=1)  # a slow machine: the wall clock has run far past the route
    fix = route.fix_at(much_later, media_s=5.0)
    assert fix is not None and fix.latitude == pytest.approx(44.0005) and fix.fixed_at == much_later
    assert route.fix_at(much_later) is None
    assert route.fix_at(START, media_s=11.0) is None


def wait_for_fix(source: GpsSource, at: datetime) -> Fix | None:
    """The live sources read in a thread of their own: give it a moment to get there."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if (fix := source.fix_at(at)) is not None:
            return fix
        time.sleep(0.02)
    return None


def test_a_live_nmea_receiver_on_a_named_pipe(tmp_path: Path) -> None:
    """RMC gives the day; a GGA after it is dated by it; a read takes the fix nearest its time, if recent enough."""
    pipe = tmp_path / "gps"
    os.mkfifo(pipe)
    day = datetime(1994, 3, 23, tzinfo=UTC)
    gga = sentence("GPGGA,123521,4807.100,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")
    writer = threading.Thread(target=lambda: pipe.write_text(f"garbage\n{RMC}\n{gga}\n"), daemon=True)
    writer.start()
    source = open_gps("nmea", pipe, "", 0, 2.0, START)
    assert isinstance(source, NmeaDevice)
    try:
        fix = wait_for_fix(source, day.replace(hour=12, minute=35, second=21))
        assert fix is not None and fix.latitude == pytest.approx(48.1183333) and fix.accuracy_m == pytest.approx(0.9)
        at_rmc = source.fix_at(day.replace(hour=12, minute=35, second=19, microsecond=500_000))
        assert at_rmc is not None and at_rmc.speed_mps == pytest.approx(22.4 * 0.514444)  # the nearer one
        assert source.fix_at(day.replace(hour=12, minute=35, second=30)) is None  # older than max_age_s
    finally:
        source.close()
        writer.join(timeout=5)


def test_gpsd_over_its_json_protocol() -> None:
    """Gpsd asks the daemon to WATCH, then keeps each TPV report with a fix; the rest are ignored."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    asked: list[bytes] = []

    def daemon() -> None:
        connection, _ = server.accept()
        with connection:
            asked.append(connection.recv(1024))
            connection.sendall(
                b'{"class":"VERSION","release":"3.25"}\n'
                b'{"class":"TPV","mode":1,"time":"2026-11-25T12:00:00.000Z"}\n'
                b'{"class":"TPV","mode":3,"time":"2026-11-25T12:00:01.000Z","lat":44.43,"lon":26.1,"eph":4.5}\n'
            )
            time.sleep(0.5)

    thread = threading.Thread(target=daemon, daemon=True)
    thread.start()
    source = open_gps("gpsd", None, "127.0.0.1", port, 2.0, START)
    try:
        fix = wait_for_fix(source, START + timedelta(seconds=1))
        assert fix is not None and (fix.latitude, fix.longitude, fix.accuracy_m) == (44.43, 26.1, 4.5)
        assert asked and asked[0].startswith(b"?WATCH=") and b'"enable":true' in asked[0]
    finally:
        source.close()
        thread.join(timeout=5)
        server.close()


def test_live_sources_that_cannot_be_opened_are_named(tmp_path: Path) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(UserError, match=f"cannot reach gpsd at 127.0.0.1:{port}"):
        open_gps("gpsd", None, "127.0.0.1", port, 2.0, START)
    with pytest.raises(UserError, match="No such file"):
        open_gps("nmea", tmp_path / "absent.nmea", "", 0, 2.0, START)
    silent = tmp_path / "silent.nmea"
    silent.write_text("garbage\n" + RMC.replace(",A,", ",V,") + "\n")
    with pytest.raises(UserError, match="has no valid RMC fix"):
        open_gps("nmea", silent, "", 0, 2.0, START)
    with pytest.raises(UserError, match=r"unknown gps\.kind"):
        open_gps("glonass", silent, "", 0, 2.0, START)

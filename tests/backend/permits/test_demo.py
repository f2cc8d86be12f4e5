from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.enforcement.service import EnforcementService
from backend.permits.demo import DEMO_PLATES, load_demo_seed, seed_demo
from backend.storage.base import utc_now
from platepatrol.errors import UserError
from platepatrol.verdicts import Outcome, Reason


def test_the_shipped_demo_has_every_kind_of_plate() -> None:
    seed = load_demo_seed(DEMO_PLATES)
    assert seed.permitted and seed.expired and seed.unpermitted
    assert not set(seed.permitted) & set(seed.unpermitted)


def test_seeded_permits_decide_verdicts(sessions: sessionmaker[Session], session: Session) -> None:
    seed = load_demo_seed(DEMO_PLATES)
    seed_demo(session, utc_now(), seed)
    seed_demo(session, utc_now(), seed)  # running it again is harmless
    service = EnforcementService(sessions)
    now = utc_now()
    assert all(service.check(plate, now).outcome is Outcome.PERMITTED for plate in seed.permitted)
    on_route, off_route = (44.4400, 26.0980), (44.5, 26.2)
    in_zone = service.check(seed.permitted[0], now, on_route)
    assert in_zone.outcome is Outcome.PERMITTED and in_zone.zone_id
    assert service.check(seed.unpermitted[0], now, on_route).reason is Reason.NO_PERMIT
    assert service.check(seed.unpermitted[0], now, off_route).reason is Reason.OUTSIDE_ZONES
    assert all(service.check(plate, now).reason is Reason.EXPIRED for plate in seed.expired)
    assert all(service.check(plate, now).reason is Reason.NO_PERMIT for plate in seed.unpermitted)


def test_a_bad_plates_file_says_which_line(tmp_path: Path) -> None:
    path = tmp_path / "plates.csv"
    path.write_text("plate,demo_permit\nB1,valid\nB2,maybe\n")
    with pytest.raises(UserError, match=r"plates.csv:3"):
        load_demo_seed(path)

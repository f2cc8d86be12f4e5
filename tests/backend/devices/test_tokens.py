import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.devices.models import Device
from backend.devices.tokens import TOKEN_PREFIX, add_device, device_for_token, hash_token
from backend.storage.base import utc_now
from platepatrol.errors import UserError


def test_a_token_is_shown_once_and_stored_hashed(session: Session) -> None:
    token = add_device(session, "car-1")
    assert token.startswith(TOKEN_PREFIX) and len(token) > 40
    stored = session.scalar(select(Device).where(Device.name == "car-1"))
    assert stored is not None
    assert stored.token_sha256 == hash_token(token) and token not in stored.token_sha256


def test_the_token_finds_its_device(session: Session) -> None:
    token = add_device(session, "car-1")
    add_device(session, "car-2")
    found = device_for_token(session, token)
    assert found is not None and found.name == "car-1"


@pytest.mark.parametrize("token", ["", "ppd_", "ppd_wrong", "not-a-token"])
def test_unknown_tokens_find_nothing(session: Session, token: str) -> None:
    add_device(session, "car-1")
    assert device_for_token(session, token) is None


def test_a_revoked_token_finds_nothing(session: Session) -> None:
    token = add_device(session, "car-1")
    device = device_for_token(session, token)
    assert device is not None
    device.revoked_at = utc_now()
    session.flush()
    assert device_for_token(session, token) is None


def test_names_are_unique_and_well_formed(session: Session) -> None:
    add_device(session, "car-1")
    with pytest.raises(UserError, match="already exists"):
        add_device(session, "car-1")
    with pytest.raises(UserError, match="must be 1-64"):
        add_device(session, "car 1")

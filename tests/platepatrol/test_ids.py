import uuid

from platepatrol.ids import new_read_id


def test_read_ids_are_unique_version_7_uuids() -> None:
    made = [new_read_id() for _ in range(5_000)]
    assert len(set(made)) == len(made)
    assert {uuid.UUID(read_id).version for read_id in made} == {7}


def test_a_later_read_id_sorts_later() -> None:
    made = [new_read_id() for _ in range(5_000)]  # several to a millisecond
    assert made == sorted(made)

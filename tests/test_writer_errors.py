"""writer.not_stored: what a failed database call becomes on the MO path."""

from __future__ import annotations

import asyncpg
import pytest

from inbound.writer import BatchNotStored, not_stored


@pytest.mark.parametrize("failure", [
    ConnectionResetError("reset by peer"),
    TimeoutError(),
    asyncpg.InterfaceError("connection is closed"),
    # a statement sent while asyncpg still reads a killed backend's FATAL message
    asyncpg.InternalClientError("cannot switch to state 11; another operation (2) is in progress"),
])
def test_a_lost_link_is_a_batch_not_stored_so_the_pdus_are_answered(failure: Exception) -> None:
    with pytest.raises(BatchNotStored) as refused, not_stored():
        raise failure
    assert refused.value.sqlstate is None
    assert type(failure).__name__ in str(refused.value)


def test_a_refused_statement_keeps_its_sqlstate() -> None:
    with pytest.raises(BatchNotStored) as refused, not_stored():
        raise asyncpg.SerializationError("could not serialize access")
    assert refused.value.sqlstate == "40001"


def test_a_bug_is_not_hidden_as_a_database_failure() -> None:
    with pytest.raises(KeyError), not_stored():
        raise KeyError("sms_in_id")

"""The API key store on every engine: keys kept only as hashes, revoked for good, touched rarely."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from spice_harvester.adapters.sql.api_keys import SqlApiKeys, hash_key
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import api_keys
from spice_harvester.domain.errors import AlreadyExists, NotFound, Unauthorized, ValidationFailed
from spice_harvester.ports.api_keys import ApiKeyStore


@pytest.fixture
def keys(migrated: SqlDatabase) -> SqlApiKeys:
    return SqlApiKeys(migrated)


def _stored_rows(db: SqlDatabase) -> list[dict[str, object]]:
    with db.read() as connection:
        return [dict(row._mapping) for row in connection.execute(select(api_keys))]


def test_the_adapter_satisfies_the_port(keys: SqlApiKeys) -> None:
    store: ApiKeyStore = keys
    assert store is keys


def test_a_created_key_is_shown_once_and_stored_only_as_its_hash(
    keys: SqlApiKeys, migrated: SqlDatabase
) -> None:
    issued = keys.create(name="ci", role="editor", databases=None, created_by="ops")
    assert issued.secret.startswith("sh_")
    assert len(issued.secret) >= 40
    assert issued.key.prefix == issued.secret[:8]
    (row,) = _stored_rows(migrated)
    assert row["key_hash"] == hash_key(issued.secret)
    assert issued.secret not in {str(value) for value in row.values()}
    assert row["databases"] is None
    assert row["created_by"] == "ops"


def test_a_key_authenticates_with_its_role_and_databases(keys: SqlApiKeys) -> None:
    issued = keys.create(
        name="sales-reader", role="viewer", databases=["sales", "hr_data"], created_by="ops"
    )
    found = keys.authenticate(issued.secret)
    assert found.key_id == issued.key.key_id
    assert found.role == "viewer"
    assert found.databases == frozenset({"sales", "hr_data"})
    assert found.last_used_at is not None


def test_an_unknown_key_is_refused(keys: SqlApiKeys) -> None:
    keys.create(name="ci", role="admin", databases=None, created_by="ops")
    with pytest.raises(Unauthorized, match="unknown API key"):
        keys.authenticate("sh_not-a-key-anyone-was-given")


def test_a_revoked_key_is_refused_and_stays_listed(keys: SqlApiKeys) -> None:
    issued = keys.create(name="old", role="editor", databases=None, created_by="ops")
    revoked = keys.revoke(issued.key.key_id)
    assert revoked.revoked_at is not None
    with pytest.raises(Unauthorized, match="revoked"):
        keys.authenticate(issued.secret)
    (listed,) = keys.list_keys()
    assert listed.revoked
    # Revoking again keeps the first revocation time.
    assert keys.revoke(issued.key.key_id).revoked_at == revoked.revoked_at


def test_revoking_an_unknown_key_is_not_found(keys: SqlApiKeys) -> None:
    with pytest.raises(NotFound, match="no API key 'nope'"):
        keys.revoke("nope")


def test_keys_list_newest_first(keys: SqlApiKeys) -> None:
    for name in ("first", "second", "third"):
        keys.create(name=name, role="viewer", databases=None, created_by="ops")
    assert [key.name for key in keys.list_keys()] == ["third", "second", "first"]


def test_two_live_keys_may_not_share_a_name_but_a_revoked_name_is_free(
    keys: SqlApiKeys,
) -> None:
    first = keys.create(name="etl", role="editor", databases=None, created_by="ops")
    with pytest.raises(AlreadyExists, match="already named 'etl'"):
        keys.create(name="etl", role="viewer", databases=None, created_by="ops")
    keys.revoke(first.key.key_id)
    second = keys.create(name="etl", role="viewer", databases=None, created_by="ops")
    assert keys.authenticate(second.secret).role == "viewer"


@pytest.mark.parametrize(
    ("name", "role", "databases", "field"),
    [
        ("", "viewer", None, "name"),
        ("x" * 101, "viewer", None, "name"),
        ("ok", "root", None, "role"),
        ("ok", "viewer", ["Not A Name"], "databases"),
    ],
)
def test_bad_key_settings_are_refused_naming_the_field(
    keys: SqlApiKeys, name: str, role: str, databases: list[str] | None, field: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        keys.create(name=name, role=role, databases=databases, created_by="ops")  # type: ignore[arg-type]
    assert raised.value.field == field
    assert keys.list_keys() == []


def test_last_used_is_written_at_most_once_a_minute(
    keys: SqlApiKeys, migrated: SqlDatabase
) -> None:
    issued = keys.create(name="busy", role="viewer", databases=None, created_by="ops")
    first = keys.authenticate(issued.secret).last_used_at
    assert first is not None
    again = keys.authenticate(issued.secret).last_used_at
    assert again == first

    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with migrated.transaction() as connection:
        connection.execute(update(api_keys).values(last_used_at=an_hour_ago))
    touched = keys.authenticate(issued.secret).last_used_at
    assert touched is not None
    assert touched > an_hour_ago + timedelta(minutes=59)
    assert keys.list_keys()[0].last_used_at == touched

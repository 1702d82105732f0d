"""API keys in SQL: created once, found by the SHA-256 of the key, revoked, never deleted."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import insert, or_, select, update

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import api_keys
from spice_harvester.domain.errors import AlreadyExists, NotFound, Unauthorized, ValidationFailed
from spice_harvester.domain.names import check_database_name
from spice_harvester.ports.api_keys import KEY_PREFIX, ROLES, ApiKey, IssuedKey, Role

SECRET_BYTES: Final = 32
PREFIX_LENGTH: Final = 8
# last_used_at is a hint for operators, not a log: one write per key per minute at most.
LAST_USED_PRECISION: Final = timedelta(minutes=1)
MAX_NAME_LENGTH: Final = 100
_k = api_keys.c


def hash_key(secret: str) -> str:
    # Keys are 32 random bytes: a fast hash is as strong as a slow one against guessing.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def _key(row: Any) -> ApiKey:
    databases = row.databases
    return ApiKey(
        key_id=row.key_id,
        name=row.name,
        prefix=row.prefix,
        role=cast(Role, row.role),
        databases=frozenset(databases) if databases is not None else None,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _checked(name: str, role: str, databases: list[str] | None) -> list[str] | None:
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"a key's name is 1 to {MAX_NAME_LENGTH} characters", field="name")
    if role not in ROLES:
        raise ValidationFailed(
            f"role must be one of {', '.join(ROLES)}, not '{role}'", field="role"
        )
    if databases is None:
        return None
    return sorted({check_database_name(db, "databases") for db in databases})


class SqlApiKeys:
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def create(
        self, *, name: str, role: Role, databases: list[str] | None, created_by: str
    ) -> IssuedKey:
        """A new key; `databases` None means every database. The secret is returned once."""
        allowed = _checked(name, role, databases)
        secret = new_secret()
        key = ApiKey(
            key_id=secrets.token_hex(8),
            name=name,
            prefix=secret[:PREFIX_LENGTH],
            role=role,
            databases=frozenset(allowed) if allowed is not None else None,
            created_at=datetime.now(UTC),
            created_by=created_by[:255],
        )
        with self._db.transaction() as connection:
            taken = connection.execute(
                select(_k.key_id).where(_k.name == name, _k.revoked_at.is_(None))
            ).first()
            if taken is not None:
                raise AlreadyExists(
                    f"the live key {taken.key_id} is already named '{name}'", field="name"
                )
            connection.execute(
                insert(api_keys).values(
                    key_id=key.key_id,
                    name=key.name,
                    prefix=key.prefix,
                    key_hash=hash_key(secret),
                    role=key.role,
                    databases=allowed,
                    created_at=key.created_at,
                    created_by=key.created_by,
                )
            )
        return IssuedKey(key, secret)

    def list_keys(self) -> list[ApiKey]:
        query = select(api_keys).order_by(_k.created_at.desc(), _k.key_id)
        with self._db.read() as connection:
            return [_key(row) for row in connection.execute(query)]

    def get(self, key_id: str) -> ApiKey:
        with self._db.read() as connection:
            row = connection.execute(select(api_keys).where(_k.key_id == key_id)).first()
        if row is None:
            raise NotFound(f"no API key '{key_id}'", field="key_id")
        return _key(row)

    def revoke(self, key_id: str) -> ApiKey:
        with self._db.transaction() as connection:
            connection.execute(
                update(api_keys)
                .where(_k.key_id == key_id, _k.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
        return self.get(key_id)

    def authenticate(self, secret: str) -> ApiKey:
        with self._db.read() as connection:
            row = connection.execute(
                select(api_keys).where(_k.key_hash == hash_key(secret))
            ).first()
        if row is None:
            raise Unauthorized("unknown API key", field="X-API-Key")
        key = _key(row)
        if key.revoked_at is not None:
            raise Unauthorized(
                f"API key {key.prefix}… was revoked at {key.revoked_at.isoformat()}",
                field="X-API-Key",
            )
        return self._touched(key)

    def _touched(self, key: ApiKey) -> ApiKey:
        now = datetime.now(UTC)
        stale = now - LAST_USED_PRECISION
        if key.last_used_at is not None and key.last_used_at > stale:
            return key
        # Conditional, so processes racing here write once between them.
        with self._db.transaction() as connection:
            connection.execute(
                update(api_keys)
                .where(
                    _k.key_id == key.key_id,
                    or_(_k.last_used_at.is_(None), _k.last_used_at <= stale),
                )
                .values(last_used_at=now)
            )
        return replace(key, last_used_at=now)

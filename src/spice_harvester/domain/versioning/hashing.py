"""Canonical forms and hashes: commit ids, document hashes and order-free state hashes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

STATE_MODULUS = 2**256
EMPTY_STATE = "0" * 64
COMMIT_ID_LENGTH = 40


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def doc_hash(key: str, data: dict[str, Any]) -> str:
    return sha256_hex(key + "\n" + canonical_json(data))


def add_to_state(state: str, added: str | None, removed: str | None) -> str:
    """A state hash is the sum of its documents' hashes modulo 2**256, so it can be kept up to
    date one document at a time and does not depend on the order documents were written."""
    total = int(state, 16)
    if added:
        total += int(added, 16)
    if removed:
        total -= int(removed, 16)
    return f"{total % STATE_MODULUS:064x}"


def commit_id_for(content: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(content))[:COMMIT_ID_LENGTH]


def request_hash(content: Any) -> str:
    return sha256_hex(canonical_json(content))

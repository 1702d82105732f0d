"""Ref syntax: `main`, `main~3`, `HEAD~1`, `feature^2`, or a full or abbreviated commit id."""

from __future__ import annotations

import re
from dataclasses import dataclass

from spice_harvester.domain.errors import MalformedInput

BRANCH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_/.-]{0,99}$")
COMMIT_PREFIX = re.compile(r"^[0-9a-f]{4,64}$")
_STEP = re.compile(r"(~|\^)(\d*)")
HEAD = "HEAD"


@dataclass(frozen=True)
class RefSpec:
    """A starting point and the parent steps from it: ('~', n) n first parents; ('^', n) the
    n-th parent."""

    base: str
    steps: tuple[tuple[str, int], ...]

    @property
    def may_be_commit(self) -> bool:
        return bool(COMMIT_PREFIX.match(self.base))


def parse_ref(text: str) -> RefSpec:
    ref = text.strip()
    cut = min((i for i in (ref.find("~"), ref.find("^")) if i >= 0), default=len(ref))
    base, rest = ref[:cut], ref[cut:]
    if not base or not (base == HEAD or BRANCH_NAME.match(base) or COMMIT_PREFIX.match(base)):
        raise MalformedInput(f"'{text}' is not a branch, commit id or ref", field="ref")
    steps = []
    position = 0
    for match in _STEP.finditer(rest):
        if match.start() != position:
            break
        count = int(match.group(2)) if match.group(2) else 1
        steps.append((match.group(1), count))
        position = match.end()
    if position != len(rest):
        raise MalformedInput(
            f"'{text}' is not a valid ref (use ~N or ^N after a name)", field="ref"
        )
    return RefSpec(base, tuple(steps))


def validate_branch_name(name: str) -> str:
    if not BRANCH_NAME.match(name) or name == HEAD or ".." in name or name.endswith((".", "/")):
        raise MalformedInput(
            f"'{name}' is not a valid branch name (letters, digits, _ / . -; up to 100)",
            field="branch_name",
        )
    return name

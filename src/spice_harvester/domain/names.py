"""The naming rules of API.md, checked in one place."""

from __future__ import annotations

import re

from spice_harvester.domain.errors import ValidationFailed

DATABASE_NAME = re.compile(r"^[a-z][a-z0-9_-]{2,49}$")
CLASS_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


def check_database_name(name: str, field: str = "name") -> str:
    if not DATABASE_NAME.match(name):
        raise ValidationFailed(
            f"'{name}' is not a valid database name: 3 to 50 characters, lower-case letters, "
            "digits, '_' or '-', starting with a letter",
            field=field,
        )
    return name

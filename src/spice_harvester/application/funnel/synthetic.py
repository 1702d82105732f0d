"""A repeatable table of twelve mixed text columns, for benchmarks and tests of profiling."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import polars as pl

# fmt: off
_WORDS = (
    "parcel", "delivered", "late", "customer", "asked", "refund", "address", "changed", "gate",
    "code", "fragile", "box", "signature", "required", "weekend", "driver", "left", "neighbour",
    "damaged", "corner", "label", "reprinted",
)
# fmt: on
_STATUSES = ("NEW", "PAID", "PACKED", "SHIPPED", "DELIVERED", "RETURNED")
_DOMAINS = ("example.com", "mail.co.kr", "post.example.org", "shop.example.net")
_START = date(2023, 1, 1)
_EPOCH = datetime(2023, 1, 1, tzinfo=UTC)


def generate_mixed_table(rows: int, seed: int) -> pl.DataFrame:
    """`rows` rows of twelve string columns, the same for the same seed.

    Columns: customer_id (unique code CUS-0000001), quantity (integers), unit_price
    (decimals), order_date (ISO dates), created_at (ISO datetimes with offset), email,
    phone (+82 mobile numbers, 1% blank), amount (money with symbols or codes in five
    currencies), active (true/false), status (six values), note (free text, 2% "N/A"),
    zip_code (five digits, leading zeros kept).
    """
    pick = random.Random(seed)
    columns: dict[str, list[str | None]] = {name: [] for name in _COLUMNS}
    for index in range(rows):
        columns["customer_id"].append(f"CUS-{index + 1:07d}")
        columns["quantity"].append(str(pick.randint(-5, 5000)))
        columns["unit_price"].append(f"{pick.uniform(0.5, 900):.2f}")
        columns["order_date"].append((_START + timedelta(days=pick.randint(0, 900))).isoformat())
        moment = _EPOCH + timedelta(seconds=pick.randint(0, 80_000_000))
        columns["created_at"].append(moment.isoformat().replace("+00:00", "Z"))
        user = f"user{pick.randint(1, 10**7)}.{pick.choice(_WORDS)}"
        columns["email"].append(f"{user}@{pick.choice(_DOMAINS)}")
        # Korean mobile numbers starting 010-5 are unassigned, hence invalid: leave them out.
        exchange = f"{pick.choice('2346789')}{pick.randint(0, 999):03d}"
        phone = f"+82 10-{exchange}-{pick.randint(0, 9999):04d}"
        columns["phone"].append(None if pick.random() < 0.01 else phone)
        columns["amount"].append(_money(pick))
        columns["active"].append(pick.choice(("true", "false")))
        columns["status"].append(pick.choice(_STATUSES))
        note = " ".join(pick.choice(_WORDS) for _ in range(pick.randint(3, 14)))
        columns["note"].append("N/A" if pick.random() < 0.02 else note.capitalize() + ".")
        columns["zip_code"].append(f"{pick.randint(0, 99999):05d}")
    return pl.DataFrame(
        {name: pl.Series(name, values, dtype=pl.String) for name, values in columns.items()}
    )


def _money(pick: random.Random) -> str:
    amount = pick.uniform(1, 20_000)
    form = pick.randrange(5)
    if form == 0:
        return f"${amount:,.2f}"
    if form == 1:
        return f"€{amount:.2f}"
    if form == 2:
        return f"₩{round(amount * 1000):,}"
    if form == 3:
        return f"USD {amount:.2f}"
    return f"{amount:.2f} EUR"


_COLUMNS = (
    "customer_id",
    "quantity",
    "unit_price",
    "order_date",
    "created_at",
    "email",
    "phone",
    "amount",
    "active",
    "status",
    "note",
    "zip_code",
)

"""Seeded draws: a time within 2024 and a uuid4, from a random stream, so a seed gives the same event.

The generator's ``date-time`` / ``uuid`` values, an AWSEvent's envelope ``id``, and the envelope
``iatk mock-event --envelope --seed N`` prints all come from here.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

_SEEDED_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _seeded_time(rng: random.Random) -> datetime:
    """A second of 2024 (a leap year: 366 days), drawn from ``rng``."""
    return _SEEDED_EPOCH + timedelta(seconds=rng.randrange(366 * 86400))


def _seeded_uuid(rng: random.Random, *, fresh: bool = False) -> str:
    """A uuid4 drawn from ``rng``; ``fresh``: a random one (the bits are drawn anyway, so the stream moves on alike)."""
    bits = rng.getrandbits(128)
    return str(uuid.uuid4() if fresh else uuid.UUID(int=bits, version=4))

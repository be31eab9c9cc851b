"""Times as a person reads them: in their IANA time zone, always saying which."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from data.clock import utcnow
from data.numbers import NumberError, parse_whole

UTC_ZONE = "UTC"
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}")


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone_name(raw: object) -> str | None:
    """``raw`` when it names an IANA time zone (as a browser reports it), else None."""
    if not isinstance(raw, str) or len(raw) > 64 or not _ZONE_NAME.fullmatch(raw):
        return None
    return raw if _zone(raw) is not None else None


def zone_of(name: str | None) -> ZoneInfo:
    return _zone(zone_name(name) or UTC_ZONE) or ZoneInfo(UTC_ZONE)


def local_text(moment: datetime | None, zone: str | None, empty: str = "") -> str:
    """``moment`` in ``zone`` (UTC when unknown), with the zone's abbreviation: the same
    instant reads 2026-03-28 12:00 CET and, a day later, 2026-03-29 12:00 CEST."""
    if moment is None:
        return empty
    local = moment.astimezone(zone_of(zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def utc_offset_now(zone: str | None, now: datetime) -> int:
    """The zone's offset from UTC at ``now``, in minutes east."""
    offset = now.astimezone(zone_of(zone)).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


UTC_OFFSET_LIMIT = 14 * 60
"""The farthest a time zone is from UTC, in minutes (UTC+14, Kiribati)."""


def utc_offset_minutes(raw: object, now: datetime | None = None) -> int:
    """What the browser reported (an IANA zone name, or minutes east of UTC) as minutes east
    of UTC now; anything else is taken as UTC."""
    if isinstance(raw, str) and zone_name(raw):
        return utc_offset_now(raw, now or utcnow())
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return 0
    try:
        return parse_whole(raw, minimum=-UTC_OFFSET_LIMIT, maximum=UTC_OFFSET_LIMIT)
    except NumberError:
        return 0


class LocalDays:
    """The calendar days of a time zone as UTC instants, daylight saving included: a day
    in Rome starts at 23:00 UTC in winter and at 22:00 UTC in summer.

    Built from what the browser reports (an IANA zone name, or minutes east of UTC for a
    fixed offset); anything else is UTC.
    """

    def __init__(self, zone: tzinfo):
        self.zone = zone

    @classmethod
    def of(cls, raw: object) -> LocalDays:
        if isinstance(raw, str) and zone_name(raw):
            return cls(zone_of(raw))
        return cls(timezone(timedelta(minutes=utc_offset_minutes(raw))))

    def midnight(self, day: date) -> datetime:
        """The UTC instant that starts ``day`` here."""
        return datetime(day.year, day.month, day.day, tzinfo=self.zone).astimezone(UTC)

    def day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def offset_at(self, moment: datetime) -> int:
        """Minutes east of UTC here at ``moment``."""
        offset = moment.astimezone(self.zone).utcoffset()
        return int(offset.total_seconds() // 60) if offset is not None else 0

    def stretches(self, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
        """[(from, minutes east)] over [since, until): the offset from each instant on, the
        first from ``since``; a new stretch starts at each change of offset (found to the
        minute, which is how finely zones change)."""
        found = [(since, self.offset_at(since))]
        cursor = since
        while cursor < until:
            following = min(cursor + timedelta(days=1), until)
            if self.offset_at(following) != found[-1][1]:
                low, high = cursor, following
                while high - low > timedelta(minutes=1):
                    middle = low + (high - low) / 2
                    if self.offset_at(middle) == found[-1][1]:
                        low = middle
                    else:
                        high = middle
                change = high.replace(second=0, microsecond=0)
                found.append((change, self.offset_at(change)))
            cursor = following
        return found

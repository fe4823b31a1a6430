"""Compute a schedule's slots, and how they change when the delivery date moves (pure)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from riskengine.audits import DeliveryDateUnknown, ScheduleInvalid
from riskengine.audits.policy import AuditPolicy
from riskengine.refusals import Refusal, refusal


class ScheduleKind(StrEnum):
    DEFAULT = "default"    # the policy's offsets before the delivery date
    OFFSETS = "offsets"    # the caller's offsets (days before; negative: after delivery)
    WEEKLY = "weekly"      # every `interval` weeks from `start` to `end`
    MONTHLY = "monthly"    # every `interval` months on `start`'s day of month, to `end`


RECURRING = frozenset({ScheduleKind.WEEKLY, ScheduleKind.MONTHLY})


@dataclass(frozen=True)
class ScheduleRule:
    kind: ScheduleKind
    offsets: tuple[int, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None
    interval: int = 1

    @property
    def follows_delivery(self) -> bool:
        """Offsets count from the delivery date; a recurrence does not."""
        return self.kind not in RECURRING

    def to_dict(self) -> dict[str, Any]:
        if self.follows_delivery:
            return {"kind": self.kind.value, "offsets_days": list(self.offsets)}
        return {"kind": self.kind.value, "start": _iso(self.start), "end": _iso(self.end),
                "interval": self.interval}


@dataclass(frozen=True, order=True)
class Slot:
    due_at: dt.datetime
    day: dt.date


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def make_rule(spec: Mapping[str, Any], policy: AuditPolicy) -> ScheduleRule:
    """Build and check a rule from a request: `{}` is the default schedule."""
    kind = ScheduleKind(spec.get("kind") or (
        ScheduleKind.OFFSETS if spec.get("offsets_days") else ScheduleKind.DEFAULT))
    if kind is ScheduleKind.DEFAULT:
        return ScheduleRule(kind, policy.default_offsets)
    if kind is ScheduleKind.OFFSETS:
        offsets = tuple(sorted(set(spec.get("offsets_days") or ()), reverse=True))
        problems = [] if offsets else [refusal("give_an_offset")]
        problems += [refusal("offset_beyond", offset=o, days=policy.max_offset_days)
                     for o in offsets if abs(o) > policy.max_offset_days]
        if problems:
            raise ScheduleInvalid(refusal("offsets_invalid"), {"offsets_days": problems})
        return ScheduleRule(kind, offsets)
    rule = ScheduleRule(kind, start=spec.get("start"), end=spec.get("end"),
                        interval=int(1 if spec.get("interval") is None else spec["interval"]))
    _check_recurrence(rule, policy)
    return rule


def _check_recurrence(rule: ScheduleRule, policy: AuditPolicy) -> None:
    problems: dict[str, list[Refusal]] = {}
    if rule.start is None:
        problems["start"] = [refusal("required_recurring")]
    if rule.end is None:
        problems["end"] = [refusal("required_recurring")]
    if rule.start and rule.end and rule.end < rule.start:
        problems["end"] = [refusal("not_before_start")]
    if rule.interval < 1:
        problems["interval"] = [refusal("at_least", n=1)]
    if not problems and len(recurrence(rule)) > policy.max_slots:
        problems["end"] = [refusal("too_many_slots", n=policy.max_slots)]
    if problems:
        raise ScheduleInvalid(refusal("recurrence_invalid"), problems)


def _add_days(day: dt.date, days: int) -> dt.date | None:
    """Move `days` ahead (negative: back), or None past either end of the calendar (years 1
    to 9999): a client may send any date there, and a slot beyond it cannot exist."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return None


def _add_months(day: dt.date, months: int, anchor_day: int) -> dt.date | None:
    """Move `months` ahead, keeping the anchor day of month, clamped to the month's length;
    None past the calendar's last year."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    if year > dt.MAXYEAR:
        return None
    return dt.date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def recurrence(rule: ScheduleRule) -> list[dt.date]:
    """Return the dates of a weekly or monthly rule, `start` and `end` included."""
    assert rule.start is not None and rule.end is not None
    days: list[dt.date] = []
    for step in range(0, 100_000):
        if rule.kind is ScheduleKind.WEEKLY:
            day = _add_days(rule.start, 7 * step * rule.interval)
        else:
            day = _add_months(rule.start, step * rule.interval, rule.start.day)
        if day is None or day > rule.end:
            break
        days.append(day)
    return days


def slot_days(rule: ScheduleRule, delivery: dt.date | None) -> list[dt.date]:
    """Return the dates of a rule's slots, earliest first."""
    if not rule.follows_delivery:
        return recurrence(rule)
    if delivery is None:
        raise DeliveryDateUnknown(refusal("delivery_date_unknown"),
                                  {"contract_delivery_date": [refusal("set_delivery_date")]})
    shifted = (_add_days(delivery, -offset) for offset in rule.offsets)
    return sorted({day for day in shifted if day is not None})


def _slot(day: dt.date, policy: AuditPolicy) -> Slot | None:
    """The slot of a date, falling due at the policy's time of day; None when that instant,
    in UTC, is before year 1 or after 9999 (a date at the calendar's very ends)."""
    try:
        return Slot(policy.due_at(day), day)
    except OverflowError:
        return None


def compute_slots(rule: ScheduleRule, delivery: dt.date | None, policy: AuditPolicy
                  ) -> list[Slot]:
    """Return the slots of a rule: each date falls due at the policy's time of day."""
    slots = (_slot(day, policy) for day in slot_days(rule, delivery))
    return [slot for slot in slots if slot is not None]


@dataclass(frozen=True)
class Replan:
    remove: tuple[dt.date, ...]  # pending slots that no longer exist
    add: tuple[Slot, ...]


def replan(pending: Iterable[Slot], existing_days: Iterable[dt.date], planned: Iterable[Slot],
           changed_at: dt.datetime) -> Replan:
    """Move the future slots to a new plan; slots due before the change stay as they are.

    `pending` are the slots not yet run; `existing_days` every slot day the schedule has
    (run or not), so a day that already ran is never planned again.
    """
    planned = [s for s in planned if s.due_at > changed_at]
    keep = {s.day for s in planned}
    remove = tuple(sorted(s.day for s in pending if s.due_at > changed_at and s.day not in keep))
    taken = set(existing_days) - set(remove)
    return Replan(remove, tuple(s for s in planned if s.day not in taken))


def effective_delivery(project_date: dt.date | None, checklist_date: dt.date | None
                       ) -> dt.date | None:
    """The project's own date wins; else the latest delivery checklist's milestone."""
    return project_date or checklist_date

"""What a checklist's values cannot be together: a part larger than its whole, the past dated
after `as_of`, two items of one identity (where the rules do not sum them).

Runs on the typed checklist the validator built (either way it was built), so both of the
validator's paths refuse exactly the same; problems are (path, problem) in plain English, for
`wording` to say in the person's language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from riskengine.checklist.contract import LISTS, PAST_CHECKS, ListSpec

Problem = tuple[str, str]


def incoherent(checklist: Mapping[str, Any]) -> Iterator[Problem]:
    """Yield every problem of values that contradict each other, list by list."""
    as_of = checklist.get("as_of")
    today = as_of if isinstance(as_of, dt.date) else None
    for name, spec in LISTS.items():
        items = checklist.get(name)
        if isinstance(items, list):
            yield from _items(name, spec, items, today)
    checks = checklist.get("checks")
    if today is not None and isinstance(checks, Mapping):
        for key in sorted(PAST_CHECKS & checks.keys()):
            yield from _past(f"checks.{key}", checks[key], today)


def _items(path: str, spec: ListSpec, items: Sequence[Any], today: dt.date | None
           ) -> Iterator[Problem]:
    past = _PAST[id(spec)] if today is not None else ()
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        for key in past:
            value = item.get(key)
            if isinstance(value, dt.date) and today is not None and value > today:
                yield (f"{path}.{index}.{key}",
                       f"must not be later than as_of ({today.isoformat()})")
        for part, whole in spec.parts:
            if _larger(item.get(part), item.get(whole)):
                yield (f"{path}.{index}.{part}",
                       f"must not be more than {whole} ({item[whole]})")
        for child, child_spec in spec.nested.items():
            children = item.get(child)
            if children:
                yield from _items(f"{path}.{index}.{child}", child_spec, children, today)
    if not spec.summed and len(items) > 1:
        yield from _duplicates(path, spec, items)


# The fields of each list that record the past, looked up once (every item is checked).
_PAST: dict[int, tuple[str, ...]] = {
    id(spec): tuple(k for k, f in spec.fields.items() if f.past)
    for top in LISTS.values() for spec in (top, *top.nested.values())}


def _past(path: str, value: Any, today: dt.date) -> Iterator[Problem]:
    if isinstance(value, dt.date) and value > today:
        yield path, f"must not be later than as_of ({today.isoformat()})"


def _larger(part: Any, whole: Any) -> bool:
    numbers = (int, float)
    return (isinstance(part, numbers) and isinstance(whole, numbers)
            and not isinstance(part, bool) and not isinstance(whole, bool) and part > whole)


def _duplicates(path: str, spec: ListSpec, items: Sequence[Any]) -> Iterator[Problem]:
    """Name both rows of every identity given twice, at the identity's first field."""
    first: dict[tuple[Any, ...], int] = {}
    same = ", ".join(spec.identity)
    at = spec.identity[0]
    pairs: list[tuple[int, int]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        identity = tuple([item.get(k) for k in spec.identity])  # values are scalars
        if identity in first:
            pairs.append((first[identity], index))
        else:
            first[identity] = index
    named: dict[int, list[int]] = {}
    for earlier, later in pairs:
        named.setdefault(earlier, []).append(later)
        named.setdefault(later, []).append(earlier)
    for index in sorted(named):
        for twin in named[index]:
            yield f"{path}.{index}.{at}", f"duplicates {path}.{twin} (the same {same})"

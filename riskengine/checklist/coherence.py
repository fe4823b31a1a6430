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
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        here = f"{path}.{index}"
        if today is not None:
            for key, field in spec.fields.items():
                if field.past:
                    yield from _past(f"{here}.{key}", item.get(key), today)
        for part, whole in spec.parts:
            if _larger(item.get(part), item.get(whole)):
                yield f"{here}.{part}", f"must not be more than {whole} ({item[whole]})"
        for child, child_spec in spec.nested.items():
            children = item.get(child)
            if isinstance(children, list):
                yield from _items(f"{here}.{child}", child_spec, children, today)
    if not spec.summed:
        yield from _duplicates(path, spec, items)


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
        identity = tuple(_hashable(item.get(k)) for k in spec.identity)
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


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value

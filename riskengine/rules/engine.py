"""The only module that talks to durable_rules; a synchronous, isolated, thread-safe evaluator.

Each trap in ../shared/notes/durable-rules.md is answered here:
- no `durable.engine.Host`: its background threads segfault on out-of-order `delete_state`; we
  call the C extension directly and run the action loop ourselves (traps 1, 2);
- a sentinel rule matches a fact asserted last, so every evaluation runs at least one action
  before its state is deleted (trap 3, and negation decided on arrival, trap 6);
- every fact has a unique positional id, and ids and sids are checked for 32-bit FNV-1a
  collisions (traps 4, 5);
- a bounded pool of sids, each state deleted after its evaluation; a sid whose state may be
  dirty after an error is retired, never reused (traps 7, 11);
- one lock per engine: the C code never releases the GIL, so threads gain nothing by
  overlapping and must not interleave calls on one handle (trap 9);
- bare C error codes become `EvaluationError` with their meaning (trap 10). No Python action
  runs inside the engine, so nothing can be swallowed there;
- a fact over the property limit is refused before assertion: beyond ~255 properties the C
  code hands back a garbage state and the next call segfaults (trap 8, measured here).
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import durable_rules_engine
import orjson

from riskengine.errors import EvaluationError
from riskengine.refusals import refusal
from riskengine.rules.compiler import END, SENTINEL_KEY, CompiledRuleset, RuleKey

_ERROR_CODES = {
    "101": "out of memory", "102": "unexpected type", "105": "unexpected name",
    "106": "too many tests after one node", "107": "too many absence tests after one node",
    "108": "too many rules on one node", "113": "too many and/or nodes in one condition",
    "202": "parse error or unknown operator",
    "302": "too many properties in one fact", "309": "state not found",
    "311": "a joined field is missing", "314": "a string is too long",
}
# an action's message echoes the facts as they were encoded (compact, by orjson), a join's
# with the END fact first
_MESSAGE_HEAD = re.compile(r'^\{"([^"]+)":\{(?:"s":\{[^{}]*\},)?"m":\{"id": ?"([^"]+)"')
_SID_POOL = 64  # far below durable's 1,024 live states per ruleset
# Past ~255 flattened properties assert_facts "succeeds" with a garbage state handle and the
# next call segfaults (measured on 2.0.28; the field notes' error 302 never came), so refuse
# such a fact before the engine sees it.
MAX_PROPERTIES = 200
_MAX_RETIRED = 256


class Match(NamedTuple):
    """One firing: which compiled rule of which ruleset matched which fact."""

    ruleset: str
    key: RuleKey
    fact_id: str


@functools.lru_cache(maxsize=65536)
def fnv1a32(text: str) -> int:
    """Hash as durable_rules hashes ids and sids (32-bit FNV-1a over UTF-8 bytes)."""
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def check_collisions(ids: Iterable[str]) -> None:
    """Raise when two distinct ids hash alike: durable would silently merge their facts."""
    ids = list(ids)
    if len(set(map(fnv1a32, ids))) == len(set(ids)):
        return  # the usual case, in one pass of cached hashes; otherwise name the pair
    seen: dict[int, str] = {}
    for fact_id in ids:
        other = seen.setdefault(fnv1a32(fact_id), fact_id)
        if other != fact_id:
            raise EvaluationError(refusal("facts_collide"),
                                  {"facts": [f"{other!r} and {fact_id!r} share a hash"]})


def count_properties(fact: Mapping[str, Any]) -> int:
    """Count properties as durable flattens them: nested mappings open up, a list is one."""
    count = 0
    for value in fact.values():  # `type(...) is dict`: ABC checks were a hot spot
        count += count_properties(value) if type(value) is dict else 1
    return count


def check_properties(facts_by_type: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Raise when a fact has more properties than the engine can hold safely."""
    for facts in facts_by_type.values():
        for fact in facts:
            count = count_properties(fact) + 1  # the sid added on assertion
            if count > MAX_PROPERTIES:
                raise EvaluationError(refusal("too_many_properties"), {str(fact.get("id")): [
                    refusal("properties_at_most", count=count, limit=MAX_PROPERTIES)]})


def _translate(error: Exception, ruleset: str) -> EvaluationError:
    text = str(error)
    code = next((c for c in _ERROR_CODES if f"code: {c}" in text or text.strip() == c), None)
    meaning = _ERROR_CODES.get(code or "", "unexpected engine error")
    return EvaluationError(refusal("engine_failed", ruleset=ruleset),
                           {ruleset: [f"{meaning} ({text})"]})


class _Handle:
    """One durable ruleset and the fact types it reads."""

    def __init__(self, compiled: CompiledRuleset, name: str) -> None:
        self.compiled = compiled
        self.types = tuple(sorted(compiled.fact_types))
        # a fact carrying only what the rules read (`shaped`) holds at most these
        widest = max(map(len, compiled.reads.values()), default=0) + 3  # id, t, sid
        if widest > MAX_PROPERTIES:
            raise EvaluationError(refusal("ruleset_too_wide", name=compiled.name), {
                compiled.name: [refusal("properties_at_most", count=widest,
                                        limit=MAX_PROPERTIES)]})
        try:
            self.handle = durable_rules_engine.create_ruleset(
                name, json.dumps(compiled.definition, ensure_ascii=False))
        except Exception as error:  # the C extension raises bare Exception
            raise _translate(error, compiled.name) from error


class Engine:
    """Evaluates facts against compiled rulesets; safe to share between threads."""

    _names = itertools.count()

    def __init__(self, rulesets: Sequence[CompiledRuleset]) -> None:
        self._lock = threading.Lock()
        self._handles: dict[str, _Handle] = {}
        self._serial = itertools.count()
        self._retired = 0
        for compiled in rulesets:
            # durable keeps a process-wide registry of names; never reuse one
            name = f"{compiled.name}~{next(self._names)}"
            self._handles[compiled.name] = _Handle(compiled, name)

    @property
    def rulesets(self) -> tuple[str, ...]:
        return tuple(self._handles)

    def live_sids(self) -> list[str]:
        """Return every sid the current pool may use (for checking that none holds state)."""
        return [f"s{self._retired}.{n}" for n in range(_SID_POOL)]

    def evaluate(self, rulesets: Iterable[str],
                 facts_by_type: Mapping[str, Sequence[dict[str, Any]]], *,
                 shaped: bool = False) -> list[Match]:
        """Return every match of the facts against the named rulesets; leave nothing behind.

        Each fact is stamped with the evaluation's state id (`sid`) on the way in. `shaped`:
        the facts carry only paths the rulesets read (assessment.facts.Shape), which bounds
        their properties (checked when the engine was built); other facts are counted.
        """
        handles = [self._handle(name) for name in rulesets]
        check_collisions(f["id"] for facts in facts_by_type.values() for f in facts)
        if not shaped:
            check_properties(facts_by_type)
        needed = {t for handle in handles for t in handle.types}
        matches: list[Match] = []
        with self._lock:
            sid = f"s{self._retired}.{next(self._serial) % _SID_POOL}"
            for kind in needed:
                for fact in facts_by_type.get(kind, ()):
                    fact["sid"] = sid
            # one dumps per fact type (not per fact) halves the encoding time; orjson is
            # 7x faster than json on shaped facts, which hold only finite numbers, strings,
            # booleans and lists of strings (validation vouches for them; orjson would
            # write NaN as null where json writes the invalid NaN)
            encode = _fast if shaped else _plain
            encoded = {t: encode(facts_by_type[t]) for t in needed if facts_by_type.get(t)}
            end = json.dumps({"id": END, "sid": sid, "t": END})
            for handle in handles:
                parts = [encoded[t] for t in handle.types if t in encoded]
                matches.extend(self._run(handle, sid, "[" + ",".join([*parts, end]) + "]"))
        return matches

    def _handle(self, name: str) -> _Handle:
        handle = self._handles.get(name)
        if handle is None:
            raise EvaluationError(refusal("ruleset_not_loaded", name=name),
                                  {"rulesets": [f"loaded: {sorted(self._handles)}"]})
        return handle

    def _run(self, handle: _Handle, sid: str, payload: str) -> list[Match]:
        try:
            code, state = durable_rules_engine.assert_facts(handle.handle, payload)
            if code not in (0, 1):  # 1: some fact matched no rule, normal for a checklist
                raise EvaluationError(refusal("engine_refused", code=code),
                                      {handle.compiled.name: [f"assert_facts returned {code}"]})
            matches = self._drain(handle, state)
            durable_rules_engine.delete_state(handle.handle, sid)
        except EvaluationError:
            self._retire()
            raise
        except Exception as error:
            self._retire()
            raise _translate(error, handle.compiled.name) from error
        return matches

    def _drain(self, handle: _Handle, state: int) -> list[Match]:
        matches: list[Match] = []
        started = durable_rules_engine.start_action_for_state(handle.handle, state)
        message = started[1] if started else None
        saw_sentinel = False
        while message:
            key, fact_id = _parse(message)
            if key == SENTINEL_KEY:
                saw_sentinel = True
            else:
                matches.append(Match(handle.compiled.name, handle.compiled.keys[key], fact_id))
            message = durable_rules_engine.complete_and_start_action(handle.handle, state)
        if not saw_sentinel:
            raise EvaluationError(refusal("engine_unfinished"),
                                  {handle.compiled.name: ["the sentinel rule never ran"]})
        return matches

    def _retire(self) -> None:
        """Never reuse a sid whose state may hold facts of a failed evaluation."""
        self._retired += 1
        self._serial = itertools.count()
        if self._retired > _MAX_RETIRED:
            raise EvaluationError(refusal("engine_unhealthy"),
                                  {"engine": [refusal("too_many_failures")]})


def _fast(facts: Sequence[dict[str, Any]]) -> str:
    return orjson.dumps(facts).decode()[1:-1]


def _plain(facts: Sequence[dict[str, Any]]) -> str:
    return json.dumps(facts, ensure_ascii=False)[1:-1]


def _parse(message: str) -> tuple[str, str]:
    head = _MESSAGE_HEAD.match(message)
    if head:
        return head.group(1), head.group(2)
    parsed = json.loads(message)
    (key, body), = parsed.items()
    return str(key), str(body["m"]["id"])

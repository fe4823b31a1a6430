"""Comments on a finding: history, only ever added. `@department` (its code, or its label in
either language: `@legal`, `@法务`) mentions a department, which is sent a notice; a mention of
no department is refused rather than lost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy.orm import Session

from riskengine.audits.notices import MENTION, notify
from riskengine.errors import Invalid
from riskengine.refusals import refusal
from riskengine.rules.model import Text
from riskengine.store import Actor, utcnow
from riskengine.store import findings as stored
from riskengine.store import models as m
from riskengine.vocabulary import Owner


def _names(labels: Mapping[str, Text]) -> list[tuple[str, str]]:
    """Every way to name a department, longest first (so `@报建/开发` is not read as less)."""
    names = [(o.value, o.value) for o in Owner]
    for code, text in labels.items():
        names += [(label, code) for label in text.values() if label]
    return sorted(names, key=lambda pair: -len(pair[0]))


def mentions(text: str, labels: Mapping[str, Text]) -> list[str]:
    """The departments a comment mentions, in the order first mentioned."""
    names = _names(labels)
    found: list[str] = []
    for at, _ in ((i, c) for i, c in enumerate(text) if c == "@"):
        rest = text[at + 1:]
        code = next((code for name, code in names if rest.lower().startswith(name.lower())),
                    None)
        if code is None:
            word = rest.split()[0] if rest.split() else ""
            raise Invalid(refusal("unknown_mention"),
                          {"body": [refusal("mention_by_label", word=word, owner=Owner.LEGAL)],
                           "allowed": sorted({c for _, c in names})})
        if code not in found:
            found.append(code)
    return found


def add_comment(session: Session, row: m.Finding, project: str, body: str,
                labels: Mapping[str, Text], actor: Actor, today: dt.date) -> m.FindingComment:
    text = body.strip()
    if not text:
        raise Invalid(refusal("comment_empty"), {"body": [refusal("write_something")]})
    departments = mentions(text, labels)
    comment = stored.add_comment(session, row, text, departments, actor)
    stored.record_event(session, row, "commented", actor, "",
                        {"comment_id": comment.id, "mentions": departments})
    gate = project_gate(session, row)
    now = utcnow()
    for department in departments:
        notify(session, f"mention:{comment.id}:{department}", row, project, gate, MENTION,
               department, today, now, {"comment_id": comment.id, "author": actor.name,
                                        "comment": text})
    return comment


def project_gate(session: Session, row: m.Finding) -> str | None:
    found = session.get(m.Project, row.project_id)
    return found.gate if found is not None else None

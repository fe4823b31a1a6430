"""The portfolio dashboard and the findings list its figures open: charts drawn on the server
(inline SVG, no script, no CDN), every bar a link to the list it counts, the same numbers as
`GET /api/v1/dashboard` and the findings API's filters."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, url_for
from markupsafe import Markup

from api.auth import current
from api.state import service
from api.web.blueprint import label, lang, page, t
from riskengine.dashboard import OPEN, figures, totals
from riskengine.output.charts import GATE_FILL, SEVERITY_FILL, Bar, Segment, stacked_bars
from riskengine.output.dashboard import render_dashboard_xlsx, stage_label, word
from riskengine.store.dashboard import Scope
from riskengine.store.findings import FindingFilter, list_findings
from riskengine.vocabulary import FindingStatus, Owner, Severity, Stage

PER_PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _choice(name: str, allowed: set[str]) -> str | None:
    value = request.args.get(name) or None
    return value if value in allowed else None


def _scope() -> Scope:
    city = (request.args.get("city") or "").strip()[:200] or None
    return Scope(current().projects, city, _choice("stage", set(Stage)),
                 _choice("owner", set(Owner)))


def _list_url(scope: Scope, **wanted: Any) -> str:
    args = {"city": scope.city, "stage": scope.stage, "owner": scope.owner, **wanted}
    return url_for("web.findings_list", **{k: v for k, v in args.items() if v is not None},
                   lang=lang().value)


def _charts(found: dict[str, Any], scope: Scope) -> dict[str, Markup]:
    owners = [Bar(label("owner", entry["owner"]), [
        Segment(label("severity", c["severity"]), c["count"], SEVERITY_FILL[c["severity"]],
                _list_url(scope, owner=entry["owner"], severity=c["severity"]))
        for c in entry["by_severity"]]) for entry in found["open_by_owner"]]
    gates = [Bar(f"{entry['city'] or '—'} · {stage_label(_policy(), entry['stage'], lang())}", [
        Segment(label("gate", g), n, GATE_FILL[g], url_for(
            "web.portfolio", city=entry["city"] or None, stage=entry["stage"], gate=g))
        for g, n in entry["gates"].items()]) for entry in found["gates"]]
    lang_now = lang()
    # Markup: stacked_bars escapes every label, title and link it writes.
    return {"owners": Markup(stacked_bars(owners, word("open", lang_now))),
            "gates": Markup(stacked_bars(gates, word("gates", lang_now)))}


def _policy() -> Any:
    return service().assessor.catalog.policy


def dashboard() -> tuple[str, int] | Response:
    """Open findings by owner × severity, age and overdue, time to resolve, gates."""
    state, scope = service(), _scope()
    with state.database.read() as db:
        found = figures(db, scope, state.today())
    if request.args.get("format") == "xlsx":
        return Response(render_dashboard_xlsx(found, lang(), _policy()), mimetype=XLSX,
                        headers={"Content-Disposition": 'attachment; filename="portfolio.xlsx"'})
    return page("dashboard.html", title=word("dashboard", lang()), found=found,
                totals=totals(found), charts=_charts(found, scope), scope=scope,
                w=lambda key: word(key, lang()),
                list_url=lambda **kw: _list_url(scope, **kw), owners=[o.value for o in Owner],
                stages=[s.value for s in Stage], stage_label=lambda s: stage_label(
                    _policy(), s, lang()), severities=[s.value for s in Severity])


def findings_list() -> tuple[str, int]:
    """The findings a figure counts: by city, stage, owner, severity, status, overdue."""
    state, scope = service(), _scope()
    statuses = tuple(s for s in request.args.getlist("status") if s in set(FindingStatus))
    wanted = FindingFilter(
        owner=scope.owner, stage=scope.stage, city=scope.city,
        severity=tuple(s for s in request.args.getlist("severity") if s in set(Severity)),
        status=statuses or OPEN,
        overdue=True if request.args.get("overdue") == "true" else None)
    with state.database.read() as db:
        rows, total = list_findings(db, wanted, scope.projects, state.today(), 1, PER_PAGE)
        items = [{"id": f.id, "project": code, "rule_id": f.rule_id, "owner": f.owner,
                  "severity": f.severity, "status": f.status, "due_date": f.due_date,
                  "title": f.record["texts"][lang().value]["title"],
                  "assessment_id": f.last_assessment_id} for f, code in rows]
    return page("findings.html", title=t("open_findings"), items=items, total=total,
                shown=len(items))


def register(bp: Blueprint) -> None:
    """Attach this module's pages to the pages' blueprint."""
    bp.add_url_rule("/dashboard", view_func=dashboard)
    bp.add_url_rule("/findings", view_func=findings_list)

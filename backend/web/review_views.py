"""The supervisors' review queue: flagged reads with their evidence, accept (a citation) or reject (a reason),
printable citations, and the statistics of rejections; pages and the JSON API under /api/v1/review."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.accounts.models import Account
from backend.accounts.permissions import Permission
from backend.accounts.service import FormError
from backend.audit.log import audit_access
from backend.devices.models import Device
from backend.enforcement.models import ReadRecord
from backend.permits.models import Permit, PermitRevision, PermitStatus, Vehicle, Zone, permit_vehicles
from backend.review import service
from backend.review.models import Citation
from backend.review.service import AlreadyDecidedError, Camera, Statistics, Tally, UnknownReadError
from backend.web.context import WebContext
from backend.web.pages import redirect, render
from backend.web.security import Context, Db, Form, Viewer, require, require_api

router = APIRouter()
Reviewer = Annotated[Viewer, Depends(require(Permission.SUPERVISOR_REVIEWS_VIEW))]
Decider = Annotated[Viewer, Depends(require(Permission.SUPERVISOR_REVIEWS_DECIDE))]
StatisticsViewer = Annotated[Viewer, Depends(require(Permission.SUPERVISOR_STATISTICS_VIEW))]
DEFAULT_DAYS = 30


# ---- shared helpers --------------------------------------------------------------------------------------


def _camera(key: str) -> Camera | None:
    return Camera.parse(key) if key else None


def _decide(
    session: Session, context: WebContext, viewer: Viewer, read_id: str, kind: str, reason: str, note: str
) -> Citation | None:
    """Accept or reject; the caller commits. The request's read transaction ends first, so the decision's
    transaction can take the write lock up front (SQLite)."""
    supervisor_id = viewer.account.id
    session.rollback()
    if kind == "accept":
        config = context.config
        return service.accept(
            session,
            read_id,
            supervisor_id,
            context.now(),
            config.citation_amount_minor,
            config.currency,
            config.timezone,
            note,
        )
    service.reject(session, read_id, supervisor_id, context.now(), reason, context.config.reject_reasons, note)
    return None


@dataclass(frozen=True)
class DateRange:
    start: date  # local, inclusive
    end: date  # local, inclusive
    errors: dict[str, str]

    def utc(self, timezone: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(timezone)
        begin = datetime.combine(self.start, time(0), zone).astimezone(UTC)
        finish = datetime.combine(self.end + timedelta(days=1), time(0), zone).astimezone(UTC)
        return begin, finish


def date_range(start: str, end: str, today: date) -> DateRange:
    """The statistics' range from two local dates (YYYY-MM-DD, both included); the last 30 days by default."""
    errors: dict[str, str] = {}
    parsed: dict[str, date] = {}
    defaults = {"start": today - timedelta(days=DEFAULT_DAYS - 1), "end": today}
    for name, text in (("start", start), ("end", end)):
        try:
            parsed[name] = date.fromisoformat(text.strip()) if text.strip() else defaults[name]
        except ValueError:
            errors[name] = "enter a date like 2026-11-25"
            parsed[name] = defaults[name]
    if not errors and parsed["end"] < parsed["start"]:
        errors["end"] = "the end comes before the start"
    if not errors and (parsed["end"] - parsed["start"]).days > 3660:
        errors["end"] = "choose at most ten years"
    if errors:
        return DateRange(defaults["start"], defaults["end"], errors)
    return DateRange(parsed["start"], parsed["end"], errors)


def _today(context: WebContext) -> date:
    return context.now().astimezone(ZoneInfo(context.config.timezone)).date()


# ---- the chart: SVG bars drawn on the server -------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # 0..1 of the scale
    text: str  # what is written at the bar's end
    y: int
    width: float


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    height: int
    label_width: int = 250
    bar_area: int = 400
    row: int = 26


LABEL_CHARS = 34


def bar_chart(title: str, rows: list[tuple[str, float, str]], scale: float | None = None) -> Chart:
    """Horizontal bars for (label, value, text) rows, scaled to `scale` (rates: 1) or to the largest value."""
    largest = scale or max((value for _, value, _ in rows), default=0.0) or 1.0
    chart = Chart(title, (), 0)
    bars = tuple(
        Bar(
            label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…",
            min(1.0, value / largest),
            text,
            8 + index * chart.row,
            round(chart.bar_area * min(1.0, value / largest), 1),
        )
        for index, (label, value, text) in enumerate(rows)
    )
    return Chart(title, bars, max(40, 16 + len(bars) * chart.row))


def _rate_rows(tallies: tuple[Tally, ...]) -> list[tuple[str, float, str]]:
    return [
        (t.label, t.false_positive_rate, f"{t.false_positive_rate:.0%} ({t.rejected}/{t.decided})") for t in tallies
    ]


def _charts(stats: Statistics) -> list[Chart]:
    reasons = [(r.label, float(r.count), str(r.count)) for r in stats.by_reason]
    return [
        bar_chart("Rejections by reason", reasons),
        bar_chart("False-positive rate by zone (of 100 %)", _rate_rows(stats.by_zone), scale=1.0),
        bar_chart("False-positive rate by camera (of 100 %)", _rate_rows(stats.by_camera), scale=1.0),
    ]


# ---- pages -----------------------------------------------------------------------------------------------


@router.get("/review", response_class=HTMLResponse, include_in_schema=False)
def queue_page(
    request: Request, session: Db, _viewer: Reviewer, page: int = 1, zone: str = "", camera: str = ""
) -> Response:
    found = service.queue(session, page=page, zone_id=zone or None, camera=_camera(camera))
    zones, cameras = service.queue_filters(session)
    return render(
        request,
        "review/queue.html",
        queue=found,
        zones=zones,
        cameras=[(key, key) for key in cameras],
        form={"zone": zone, "camera": camera},
    )


@router.get("/review/statistics", response_class=HTMLResponse, include_in_schema=False)
def statistics_page(
    request: Request, session: Db, context: Context, _viewer: StatisticsViewer, start: str = "", end: str = ""
) -> Response:
    chosen = date_range(start, end, _today(context))
    stats = service.statistics(session, *chosen.utc(context.config.timezone), context.config.reject_reasons)
    return render(
        request,
        "review/statistics.html",
        422 if chosen.errors else 200,
        stats=stats,
        charts=_charts(stats),
        chosen=chosen,
        form={"start": start or chosen.start.isoformat(), "end": end or chosen.end.isoformat()},
        errors=chosen.errors,
    )


@dataclass(frozen=True)
class Evidence:
    """Everything the read's page shows beside the forms."""

    read: ReadRecord
    zone: Zone | None
    decided_by: PermitRevision | None  # the permit revision that decided the verdict
    permit_type: str
    candidate_permits: list[tuple[str, str, datetime, datetime, bool, int]]
    map_zones: str  # GeoJSON FeatureCollection for the map
    point: tuple[float, float] | None


def _evidence(session: Session, read: ReadRecord) -> Evidence:
    verdict = read.verdict
    zone = session.get(Zone, verdict.zone_id) if verdict.zone_id else None
    revision = None
    permit_type = ""
    if verdict.permit_id and verdict.permit_revision is not None:
        revision = session.scalar(
            select(PermitRevision).where(
                PermitRevision.permit_id == verdict.permit_id, PermitRevision.revision == verdict.permit_revision
            )
        )
        permit = session.get(Permit, verdict.permit_id)
        permit_type = permit.type.name if permit and permit.type else ""
    candidates = []
    if verdict.candidate_plate:
        for row in _revisions_as_known(session, verdict.candidate_plate, verdict.decided_at):
            active = row.status is PermitStatus.ACTIVE
            candidates.append(
                (row.code, verdict.candidate_plate, row.valid_from, row.valid_until, active, row.revision)
            )
    features = []
    point = read.position
    for shape in session.scalars(select(Zone).where(Zone.geojson != "")):
        try:
            geometry = json.loads(shape.geojson)
        except ValueError:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {"name": shape.name, "decided": zone is not None and shape.id == zone.id},
            }
        )
    return Evidence(
        read=read,
        zone=zone,
        decided_by=revision,
        permit_type=permit_type,
        candidate_permits=candidates,
        map_zones=json.dumps({"type": "FeatureCollection", "features": features}),
        point=point,
    )


def _revisions_as_known(session: Session, plate: str, known_at: datetime) -> list[PermitRevision]:
    """The latest revision, as recorded by `known_at`, of each permit that has ever covered `plate` (found
    through its vehicles, so the look-up stays indexed however many permits the city has)."""
    permit_ids = select(permit_vehicles.c.permit_id).join(Vehicle).where(Vehicle.plate == plate)
    latest = (
        select(func.max(PermitRevision.id))
        .where(PermitRevision.permit_id.in_(permit_ids), PermitRevision.recorded_at <= known_at)
        .group_by(PermitRevision.permit_id)
    )
    rows = session.scalars(select(PermitRevision).where(PermitRevision.id.in_(latest)).order_by(PermitRevision.code))
    return [row for row in rows if plate in row.plates]


def _read_page(
    request: Request,
    session: Db,
    context: Context,
    viewer: Viewer,
    read_id: str,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    try:
        read, verdict, decision = service.flagged_read(session, read_id)
    except UnknownReadError:
        return render(request, "error.html", 404, title="No such read", message="This read is unknown or was purged.")
    citation = session.scalar(select(Citation).where(Citation.read_id == read.id))
    decider = session.get(Account, decision.decided_by) if decision and decision.decided_by else None
    device = session.get(Device, read.device_id)
    audit_access(session, viewer.account.id, "review.view", "read", read.id, plate=read.plate)
    return render(
        request,
        "review/read.html",
        status_code,
        read=read,
        verdict=verdict,
        decision=decision,
        decider=decider,
        device_name=device.name if device else read.device_id,
        citation=citation,
        evidence=_evidence(session, read),
        reasons=list(context.config.reject_reasons.items()),
        reason_labels=context.config.reject_reasons,
        may_decide=viewer.may(Permission.SUPERVISOR_REVIEWS_DECIDE),
        amount=context.config.citation_amount_minor,
        currency=context.config.currency,
        errors=errors or {},
        form=form or {},
    )


@router.get("/review/{read_id}", response_class=HTMLResponse, include_in_schema=False)
def read_page(request: Request, read_id: str, session: Db, context: Context, viewer: Reviewer) -> Response:
    return _read_page(request, session, context, viewer, read_id)


@router.get("/review/{read_id}/crop.jpg", include_in_schema=False)
def crop_image(read_id: str, session: Db, _viewer: Reviewer) -> Response:
    return _jpeg(session, read_id, context_image=False)


@router.get("/review/{read_id}/context.jpg", include_in_schema=False)
def context_image(read_id: str, session: Db, _viewer: Reviewer) -> Response:
    return _jpeg(session, read_id, context_image=True)


def _jpeg(session: Session, read_id: str, context_image: bool) -> Response:
    read = session.get(ReadRecord, read_id)
    image = None if read is None else (read.context_jpeg if context_image else read.crop_jpeg)
    if not image:
        return Response(status_code=404)
    # Evidence of a person's car: never kept by shared caches, nor by the browser once the page is left.
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.post("/review/{read_id}/decision", response_class=HTMLResponse, include_in_schema=False)
def decide_form(request: Request, read_id: str, session: Db, context: Context, viewer: Decider, form: Form) -> Response:
    kind = form.get("decision", "")
    if kind not in ("accept", "reject"):
        return _read_page(
            request, session, context, viewer, read_id, 422, {"decision": "choose accept or reject"}, form
        )
    try:
        citation = _decide(session, context, viewer, read_id, kind, form.get("reason_code", ""), form.get("note", ""))
    except UnknownReadError:
        return render(request, "error.html", 404, title="No such read", message="This read is unknown or was purged.")
    except AlreadyDecidedError as problem:
        session.rollback()
        return _read_page(request, session, context, viewer, read_id, 409, {"decision": str(problem)})
    except FormError as problem:
        session.rollback()
        return _read_page(request, session, context, viewer, read_id, 422, problem.errors, form)
    session.commit()
    if citation is not None:
        return redirect(f"/citations/{citation.number}", flash=f"Citation {citation.number} issued.")
    return redirect("/review", flash="Rejected: no citation. The next flagged read is at the top.")


@router.get("/citations/{number}", response_class=HTMLResponse, include_in_schema=False)
def citation_page(request: Request, number: str, session: Db, context: Context, viewer: Reviewer) -> Response:
    citation = session.scalar(select(Citation).where(Citation.number == number))
    if citation is None:
        return render(request, "error.html", 404, title="No such citation", message=f"No citation {number}.")
    zone = session.get(Zone, citation.zone_id) if citation.zone_id else None
    issuer = session.get(Account, citation.issued_by) if citation.issued_by else None
    audit_access(session, viewer.account.id, "citation.view", "citation", citation.number, plate=citation.plate)
    return render(
        request,
        "review/citation.html",
        citation=citation,
        zone=zone,
        issuer=issuer,
        has_crop=citation.read_id is not None,
    )


# ---- the JSON API ----------------------------------------------------------------------------------------

api = APIRouter(prefix="/api/v1/review", tags=["review"])


class QueueItemOut(BaseModel):
    read_id: str
    captured_at: datetime
    plate: str
    confidence: float
    outcome: str
    reason: str
    sentence: str
    zone_id: str | None
    zone_name: str
    camera: str = Field(description="device name / camera id")
    candidate_plate: str | None = Field(description="look-alike: the permitted plate it may be")


class QueueOut(BaseModel):
    items: list[QueueItemOut]
    total: int
    page: int
    pages: int


class DecisionIn(BaseModel):
    decision: Literal["accept", "reject"]
    reason_code: str = Field(default="", max_length=32, description="rejections: a code from GET /reasons")
    note: str = Field(default="", max_length=service.NOTE_MAX)


class DecisionOut(BaseModel):
    read_id: str
    decision: Literal["accept", "reject"]
    reason_code: str
    citation_number: str | None


class ReasonOut(BaseModel):
    code: str
    label: str
    count: int = 0


class TallyOut(BaseModel):
    key: str
    label: str
    decided: int
    rejected: int
    false_positive_rate: float


class StatisticsOut(BaseModel):
    start: date
    end: date = Field(description="included")
    decided: int
    rejected: int
    false_positive_rate: float
    by_reason: list[ReasonOut]
    by_camera: list[TallyOut]
    by_zone: list[TallyOut]


def _tally(tally: Tally) -> TallyOut:
    return TallyOut(
        key=tally.key,
        label=tally.label,
        decided=tally.decided,
        rejected=tally.rejected,
        false_positive_rate=round(tally.false_positive_rate, 4),
    )


ApiReviewer = Annotated[Viewer, Depends(require(Permission.SUPERVISOR_REVIEWS_VIEW))]
ApiStatistics = Annotated[Viewer, Depends(require(Permission.SUPERVISOR_STATISTICS_VIEW))]


@api.get("/queue")
def api_queue(
    session: Db,
    _viewer: ApiReviewer,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = service.PAGE_SIZE,
    zone: Annotated[str, Query(description="zone id")] = "",
    camera: Annotated[str, Query(description="device name / camera id")] = "",
) -> QueueOut:
    """Flagged reads nobody has decided yet, oldest first."""
    found = service.queue(session, page=page, page_size=page_size, zone_id=zone or None, camera=_camera(camera))
    items = [
        QueueItemOut(
            read_id=i.read_id,
            captured_at=i.captured_at,
            plate=i.plate,
            confidence=i.confidence,
            outcome=i.outcome.value,
            reason=i.reason,
            sentence=i.sentence,
            zone_id=i.zone_id,
            zone_name=i.zone_name,
            camera=i.camera,
            candidate_plate=i.candidate_plate,
        )
        for i in found.items
    ]
    return QueueOut(items=items, total=found.total, page=found.page, pages=found.pages)


@api.get("/reasons")
def api_reasons(context: Context, _viewer: ApiReviewer) -> list[ReasonOut]:
    """The configured reasons a supervisor may give for rejecting a read."""
    return [ReasonOut(code=code, label=label) for code, label in context.config.reject_reasons.items()]


@api.post(
    "/reads/{read_id}/decision",
    response_model=DecisionOut,
    status_code=201,
    responses={
        404: {"description": "no such read"},
        409: {"description": "already decided"},
        422: {"description": "a bad field (errors by field)"},
    },
)
def api_decide(
    read_id: str,
    body: DecisionIn,
    session: Db,
    context: Context,
    viewer: Annotated[Viewer, Depends(require_api(Permission.SUPERVISOR_REVIEWS_DECIDE))],
) -> Response:
    """Accept (a citation is issued) or reject (with a reason code) a flagged read; one decision per read."""
    try:
        citation = _decide(session, context, viewer, read_id, body.decision, body.reason_code, body.note)
    except UnknownReadError:
        raise HTTPException(status_code=404, detail="no such read") from None
    except AlreadyDecidedError as problem:
        session.rollback()
        return JSONResponse({"detail": str(problem)}, status_code=409)
    except FormError as problem:
        session.rollback()
        return JSONResponse({"detail": str(problem), "errors": problem.errors}, status_code=422)
    session.commit()
    out = DecisionOut(
        read_id=read_id,
        decision=body.decision,
        reason_code=body.reason_code if body.decision == "reject" else "",
        citation_number=citation.number if citation else None,
    )
    return JSONResponse(out.model_dump(), status_code=201)


@api.get("/statistics", response_model=StatisticsOut, responses={422: {"description": "a bad date (errors by field)"}})
def api_statistics(
    session: Db,
    context: Context,
    _viewer: ApiStatistics,
    start: Annotated[str, Query(description="first local day, YYYY-MM-DD (default: 30 days ago)")] = "",
    end: Annotated[str, Query(description="last local day, included (default: today)")] = "",
) -> Response:
    """Decisions in the range: rejections by reason, and the false-positive rate per camera and zone."""
    chosen = date_range(start, end, _today(context))
    if chosen.errors:
        return JSONResponse({"detail": "bad dates", "errors": chosen.errors}, status_code=422)
    stats = service.statistics(session, *chosen.utc(context.config.timezone), context.config.reject_reasons)
    out = StatisticsOut(
        start=chosen.start,
        end=chosen.end,
        decided=stats.total.decided,
        rejected=stats.total.rejected,
        false_positive_rate=round(stats.total.false_positive_rate, 4),
        by_reason=[ReasonOut(code=r.code, label=r.label, count=r.count) for r in stats.by_reason],
        by_camera=[_tally(t) for t in stats.by_camera],
        by_zone=[_tally(t) for t in stats.by_zone],
    )
    return JSONResponse(out.model_dump(mode="json"))


router.include_router(api)

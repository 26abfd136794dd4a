"""``/api/admin/*``: re-index while serving, read the feedback. Behind the admin key
(:func:`api.deps.require_admin`); absent when no key is configured."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.deps import FeedbackDep, RebuilderDep, require_admin
from api.limits import ApiError, error_responses
from cancerassist.feedback import StoredFeedback
from cancerassist.index import BuildJob

router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=error_responses(401, 404),
)


@router.post("/reindex", response_model=BuildJob, status_code=202, responses=error_responses(409))
def reindex(rebuilder: RebuilderDep) -> BuildJob:
    """Rebuild the index from the corpus in the background; queries are answered from the
    current build until the new one is complete, then from the new one."""
    job = rebuilder.start()
    if job is None:
        raise ApiError(409, "reindex_running")
    return job


@router.get("/reindex", response_model=BuildJob)
def reindex_status(rebuilder: RebuilderDep) -> BuildJob:
    """The last re-index: running, succeeded (with its build report) or failed (with why)."""
    if rebuilder.job is None:
        raise ApiError(404, "no_reindex")
    return rebuilder.job


class FeedbackPage(BaseModel):
    total: int
    items: list[StoredFeedback]


@router.get("/feedback", response_model=FeedbackPage)
def list_feedback(
    store: FeedbackDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> FeedbackPage:
    """Stored feedback, oldest first."""
    rows = store.records(limit, offset)
    return FeedbackPage(total=store.count(), items=[StoredFeedback.model_validate(r) for r in rows])

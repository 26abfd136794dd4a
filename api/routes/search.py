"""``GET /api/search``: the passages hybrid retrieval finds, with scores and source spans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ServiceDep
from cancerassist.models import MAX_MESSAGE_CHARS, SearchResult

router = APIRouter(prefix="/api", tags=["search"])


@router.get("/search", response_model=SearchResult)
def search(
    service: ServiceDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_MESSAGE_CHARS)],
    k: Annotated[int, Query(ge=1, le=50)] = 5,
) -> SearchResult:
    return service.retriever.run(q, k)

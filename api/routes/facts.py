"""``GET /api/facts``: the typed facts, filtered by type and by text."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ServiceDep
from cancerassist.lookup import normalise
from cancerassist.models import Fact, FactType

router = APIRouter(prefix="/api", tags=["facts"])


@router.get("/facts", response_model=list[Fact])
def facts(
    service: ServiceDep,
    type: Annotated[FactType | None, Query(description="Only facts of this type")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words the fact must contain")
    ] = None,
) -> list[Fact]:
    selected = [f for f in service.index.facts.facts if type is None or f.type == type]
    if q:
        words = normalise(q).split()
        selected = [f for f in selected if all(w in normalise(f.model_dump_json()) for w in words)]
    return selected

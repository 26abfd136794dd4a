"""``GET /api/documents/{doc_id}``: a source text, so a citation's span can be shown in place."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from api.deps import ServiceDep
from api.limits import ApiError, error_responses

router = APIRouter(prefix="/api", tags=["documents"])


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    language: str
    description: str
    source_type: str
    text: str


@router.get("/documents/{doc_id}", response_model=DocumentOut, responses=error_responses(404))
def document(service: ServiceDep, doc_id: Annotated[str, Path(max_length=200)]) -> DocumentOut:
    found = service.index.documents.get(doc_id)
    if found is None:
        raise ApiError(404, "not_found")
    return DocumentOut.model_validate(found.model_dump())

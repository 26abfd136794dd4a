"""``POST /api/feedback``: a thumbs up or down on an answer, stored with the rated exchange."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import FeedbackDep, ServiceDep
from cancerassist.feedback import FeedbackRecord

router = APIRouter(prefix="/api", tags=["feedback"])


class FeedbackIn(BaseModel):
    message_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackOut(BaseModel):
    stored: bool
    id: int


@router.post("/feedback", response_model=FeedbackOut, status_code=201)
def feedback(body: FeedbackIn, service: ServiceDep, store: FeedbackDep) -> FeedbackOut:
    exchange = service.recent.get(body.message_id)
    record = FeedbackRecord(message_id=body.message_id, rating=body.rating, comment=body.comment)
    if exchange is not None:
        record.question = exchange.question
        record.answer = exchange.response.answer
        record.language = exchange.response.language
        record.citations = exchange.response.citations
    return FeedbackOut(stored=True, id=store.add(record))

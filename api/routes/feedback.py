"""``POST /api/feedback``: a thumbs up or down on an answer, stored with the rated exchange."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.deps import FeedbackDep, ServiceDep, SignerDep
from api.limits import ApiError, error_responses
from cancerassist.feedback import FeedbackRecord, StorageError

router = APIRouter(prefix="/api", tags=["feedback"])


class FeedbackIn(BaseModel):
    message_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="The message_id of an answer this service gave",
    )
    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackOut(BaseModel):
    stored: bool
    id: int
    replaced: bool = Field(description="An earlier rating of the same answer was replaced")


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    status_code=201,
    responses={
        200: {"model": FeedbackOut, "description": "Replaced an earlier rating of this answer"},
        **error_responses(404, 503, 507),
    },
)
def feedback(
    body: FeedbackIn,
    service: ServiceDep,
    store: FeedbackDep,
    signer: SignerDep,
    response: Response,
) -> FeedbackOut:
    """Rate an answer; rating it again replaces the first rating."""
    message_id = signer.verify(body.message_id)
    if message_id is None:
        raise ApiError(404, "unknown_message")
    exchange = service.recent.get(message_id)
    record = FeedbackRecord(message_id=message_id, rating=body.rating, comment=body.comment)
    if exchange is not None:
        record.question = exchange.question
        record.answer = exchange.response.answer
        record.language = exchange.response.language
        record.citations = exchange.response.citations
    try:
        row, replaced = store.add(record)
    except StorageError as exc:
        # Nothing was stored, and the client is told so; it may send the same rating later.
        code = "storage_full" if exc.full else "storage_failed"
        raise ApiError(507 if exc.full else 503, code) from exc
    if replaced:
        response.status_code = 200
    return FeedbackOut(stored=True, id=row, replaced=replaced)

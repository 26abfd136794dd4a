"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import AdminDep, FeedbackDep, ServiceDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Storage failing: not ready"}})
def readyz(service: ServiceDep, store: FeedbackDep, admin: AdminDep) -> JSONResponse:
    """``ready``, or ``not_ready`` (503) with why while storage fails (tried again by each
    call, see :meth:`FeedbackStore.writable`). The index's path,
    build and model, and an older build served in place of a damaged one, only with the admin
    key: they tell an anonymous caller where the files are and what runs."""
    ready = store.writable()
    body: dict[str, Any] = {"status": "ready" if ready else "not_ready"}
    if not ready:
        body["reason"] = "storage"
    # Whether an older build is served is for everybody: answers may be out of date.
    body["degraded"] = service.index.refused is not None
    if admin:
        manifest = service.index.manifest
        body |= {
            "build_id": manifest.build_id,
            "index_path": str(service.index.path),
            "model": manifest.embedding.model_id,
            "documents": len(service.index.documents),
            "chunks": len(service.index.chunks),
            "facts": len(service.index.facts.facts),
            "llm": service.llm is not None,
            # Set when the build CURRENT names was refused and an older good one is served.
            "refused_build": service.index.refused,
            "storage_failure": store.failure,
        }
    return JSONResponse(body, status_code=200 if ready else 503)

"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ServiceDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(service: ServiceDep) -> dict[str, Any]:
    manifest = service.index.manifest
    return {
        "status": "ready",
        "build_id": manifest.build_id,
        "model": manifest.embedding.model_id,
        "documents": len(service.index.documents),
        "chunks": len(service.index.chunks),
        "facts": len(service.index.facts.facts),
        "llm": service.llm is not None,
        # Set when the build CURRENT names was refused and an older good one is served.
        "refused_build": service.index.refused,
    }

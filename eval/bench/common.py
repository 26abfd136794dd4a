"""What the benchmarks share: percentiles, the report header, the question pool, a server process.

Percentiles are quoted as p50/p95/p99 (never a mean alone); reports are Markdown, printed and
optionally written to a file.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from api.background import serve_process

from cancerassist.index import SearchIndex
from cancerassist.models import Contact, Funding, Person

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def percentiles(values: list[float]) -> tuple[float, float, float]:
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return float(p50), float(p95), float(p99)


def header(title: str, command: str) -> list[str]:
    return [
        f"# {title}",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
        f"Python {platform.python_version()}",
        f"- command: `{command}`",
        "",
    ]


def emit(lines: list[str], out: Path | None) -> None:
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if out:
        out.write_text(text, encoding="utf-8")


def written_questions() -> list[str]:
    """Questions people wrote: the gold set's first turns and ``queries.txt``, FR and EN."""
    gold = [
        json.loads(line)["turns"][0]
        for line in (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    extra = (HERE / "queries.txt").read_text(encoding="utf-8").splitlines()
    return list(dict.fromkeys(q.strip() for q in [*gold, *extra] if q.strip()))


def generated_questions(index: SearchIndex) -> list[str]:
    """Distinct FR/EN questions from the fact store and section titles, shuffled: fact lookups
    (contacts, people, funding by year) and passage questions."""
    facts = index.facts.facts
    organisations = [f.organisation for f in facts if isinstance(f, Contact)]
    people = [f.name for f in facts if isinstance(f, Person)]
    funders = sorted({f.funder for f in facts if isinstance(f, Funding) and f.funder})
    sections = sorted({c.section for c in index.chunks if c.section})
    generated = (
        [f"Qui contacter pour la valorisation à {o} ?" for o in organisations]
        + [f"Who handles technology transfer at {o}?" for o in organisations]
        + [f"Qui est {p} ?" for p in people]
        + [f"Who is {p}?" for p in people]
        + [f"Combien {f} a-t-il accordé en {y} ?" for f in funders for y in range(2000, 2025)]
        + [f"How much did {f} grant in {y}?" for f in funders for y in range(2000, 2025)]
        + [f"Que disent les documents sur « {s} » ?" for s in sections]
        + [f"What do the documents say about {s}?" for s in sections]
    )
    unique = list(dict.fromkeys(generated))
    random.Random(7).shuffle(unique)
    return unique


def distinct(pool: list[str], count: int) -> list[str]:
    """``count`` questions, none repeated: past the pool, templates are numbered."""
    return [
        q if i < len(pool) else f"{q} ({i})"
        for i, q in zip(range(count), itertools.cycle(pool), strict=False)
    ]


@contextmanager
def server(workers: int = 1, env: dict[str, str] | None = None) -> Iterator[str]:
    """``cancerassist serve`` in its own process, without the rate limit (the benchmarks measure
    below it); yields the base URL once it is ready."""
    unlimited = {
        **(env or {}),
        "CANCERASSIST_RATE_LIMIT_PER_MINUTE": "0",
        "CANCERASSIST_SEARCH_RATE_LIMIT_PER_MINUTE": "0",
        "CANCERASSIST_ADMIN_RATE_LIMIT_PER_MINUTE": "0",
    }
    with serve_process(unlimited, workers) as url:
        yield url

"""The ``cancerassist`` command: build the index, search it.

Example::

    cancerassist index
    cancerassist search "Qui contacter pour le transfert de technologie à l'Institut Lumière ?" -k 3
"""

from __future__ import annotations

import csv
import enum
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.table import Table

from cancerassist.config import Settings, get_settings
from cancerassist.embed import Embedder, load_embedder
from cancerassist.index import BuildReport, IndexUnavailableError, build_index, load_facts
from cancerassist.models import Fact, SearchResult
from cancerassist.retrieve import HybridRetriever

app = typer.Typer(
    help="CancerAssist: cited answers over cancer-research network documents.", no_args_is_help=True
)
console = Console()
errors = Console(stderr=True, soft_wrap=True)  # one line per message, for scripts that read it


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


@app.callback()
def _check_settings() -> None:
    # Settings come from the environment, which the user wrote: say which one is wrong, once,
    # before any command, rather than a traceback from wherever they are first read.
    try:
        get_settings()
    except ValidationError as exc:
        problems = [
            f"CANCERASSIST_{str(e['loc'][0]).upper()}: {e['msg']}"
            if e["loc"]
            else e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        ]
        raise _fail("invalid settings: " + "; ".join(problems)) from exc
    except SettingsError as exc:  # a value that is not the JSON its field needs
        raise _fail(f'invalid settings: {exc} (lists are JSON, e.g. ["a", "b"])') from exc


def _embedder(settings: Settings) -> Embedder:
    return load_embedder(settings.embedder, settings.embedding_model)


def _print_report(report: BuildReport) -> None:
    for path, kinds in report.facts_by_file.items():
        found = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "no fact"
        console.print(f"{path}: {found}")
    for problem in report.problems:
        style = "red" if problem.severity == "error" else "yellow"
        errors.print(f"[{style}]{problem.severity}:[/] {problem.path}: {problem.reason}")
    console.print(
        f"Built [bold]{report.build_id}[/]: {report.documents} documents, {report.chunks} chunks "
        f"({report.embedded} embedded, {report.reused} reused), {report.dense_index} index, "
        f"{sum(report.timings_s.values()):.1f} s"
    )


@app.command()
def index(
    progress: Annotated[bool, typer.Option(help="Show a progress bar while embedding.")] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the build report as JSON.")
    ] = False,
    wait: Annotated[
        float,
        typer.Option(min=0, help="Seconds to wait for a build already running (0: fail at once)."),
    ] = 0,
) -> None:
    """Build or update the index from the corpus (unchanged chunks are not re-embedded)."""
    settings = get_settings()
    try:
        report = build_index(
            settings, _embedder(settings), progress=progress and not as_json, wait_s=wait
        )
    except IndexUnavailableError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        print(report.model_dump_json())
    else:
        _print_report(report)


def _print_result(result: SearchResult) -> None:
    table = Table(show_lines=True)
    for column in ("#", "score", "document › section", "passage"):
        table.add_column(column)
    for hit in result.hits:
        chunk = hit.chunk
        passage = chunk.text if len(chunk.text) <= 300 else chunk.text[:300] + "…"
        table.add_row(
            str(hit.rank),
            f"{hit.score:.4f}",
            f"{chunk.title}\n› {chunk.section}\n[{chunk.start}:{chunk.end}]",
            passage,
        )
    console.print(table)


@app.command()
def search(
    question: Annotated[
        str | None, typer.Argument(help="The question; omit it for an interactive prompt.")
    ] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="Number of passages.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Hybrid (dense + BM25) search over the index."""
    settings = get_settings()
    try:
        retriever = HybridRetriever.from_settings(settings, _embedder(settings))
    except IndexUnavailableError as exc:
        raise _fail(str(exc)) from exc
    questions = [question] if question is not None else _prompt_questions()
    for q in questions:
        result = retriever.run(q, k)
        if as_json:
            # Anchors are for mapping text back to its source, noise for a reader.
            typer.echo(
                result.model_dump_json(
                    indent=2, exclude={"hits": {"__all__": {"chunk": {"anchors"}}}}
                )
            )
        else:
            _print_result(result)


def _prompt_questions() -> Iterator[str]:
    console.print("Ask a question (empty line or Ctrl-D to quit).")
    while True:
        try:
            line = console.input("[bold]? [/]").strip()
        except EOFError:
            return
        if not line:
            return
        yield line


class FactKind(enum.StrEnum):
    contact = "contact"
    funding = "funding"
    partner = "partner"
    person = "person"
    biobank = "biobank"
    project = "project"
    figure = "figure"
    measure = "measure"


class OutputFormat(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _fact_row(fact: Fact) -> dict[str, str]:
    """A flat record: every field but the provenance, then where it was read."""
    fields = fact.model_dump(mode="json", exclude={"provenance"}, exclude_none=True)
    source = fact.provenance
    row = {key: str(value) for key, value in fields.items()}
    row.update(
        doc_id=source.doc_id, start=str(source.start), end=str(source.end), quote=source.quote
    )
    return row


@app.command()
def facts(
    kind: Annotated[
        FactKind | None, typer.Option("--type", help="Only facts of this type.")
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.table,
) -> None:
    """List the facts extracted at index time, each with its source span."""
    try:
        store = load_facts(get_settings().index_dir)
    except IndexUnavailableError as exc:
        raise _fail(str(exc)) from exc
    selected = [f for f in store.facts if kind is None or f.type == kind.value]
    rows = [_fact_row(f) for f in selected]
    if output is OutputFormat.json:
        typer.echo(
            json.dumps([f.model_dump(mode="json") for f in selected], ensure_ascii=False, indent=2)
        )
    elif output is OutputFormat.csv:
        columns = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(sys.stdout, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table(show_lines=False)
        for column in ("type", "fact", "source"):
            table.add_column(column)
        for row in rows:
            source = f"{row.pop('doc_id')} [{row.pop('start')}:{row.pop('end')}]"
            row.pop("quote")
            kind_name = row.pop("type")
            table.add_row(kind_name, "; ".join(f"{k}: {v}" for k, v in row.items()), source)
        console.print(table)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in French or English.")],
    language: Annotated[
        str | None, typer.Option("--lang", help="Answer language (fr|en); detected if absent.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole response as JSON.")
    ] = False,
) -> None:
    """Answer a question as the chat service would, with its citations. Exits with 1 when the
    documents give no answer (the message saying so is printed all the same), so a script can
    tell an answer from a refusal."""
    from cancerassist.chat import ChatService
    from cancerassist.models import ChatMessage, ChatRequest

    if language not in (None, "fr", "en"):
        raise _fail("--lang must be fr or en")
    try:
        service = ChatService.from_settings(get_settings())
    except IndexUnavailableError as exc:
        raise _fail(str(exc)) from exc
    request = ChatRequest(messages=[ChatMessage(role="user", content=question)], language=language)
    response = service.run(request)
    if as_json:
        typer.echo(response.model_dump_json(indent=2))
    else:
        console.print(response.answer)
        for citation in response.citations:
            console.print(
                f"  [dim]↳ {citation.title} › {citation.section} "
                f"[{citation.start}:{citation.end}][/]"
            )
    if response.status == "no_answer":
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Worker processes.")] = 1,
) -> None:
    """Start the HTTP API (building the index first if there is none)."""
    import uvicorn
    from api.server import log_config, server_options

    settings = get_settings()
    if workers > 1 and "OMP_NUM_THREADS" not in os.environ:
        # Each worker's model would otherwise start a thread per core: N workers embedding at
        # once oversubscribe the cores and OpenMP's spinning threads stall them all (2 workers
        # at 64 clients: 2.8 requests/s and 48 timeouts). The workers inherit this variable.
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    uvicorn.run(
        "api.main:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
        log_config=log_config(uvicorn.config.LOGGING_CONFIG),
        **server_options(settings),
    )


feedback_app = typer.Typer(help="User feedback collected by the API.")
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("export")
def feedback_export(
    out: Annotated[
        str | None, typer.Option("--out", help="JSONL file to write; standard output if absent.")
    ] = None,
) -> None:
    """Write rated exchanges as evaluation cases (JSON lines), for review before adding them to
    the gold set."""
    from cancerassist.feedback import FeedbackStore

    store = FeedbackStore(get_settings().data_dir / "feedback.sqlite3")
    lines = [json.dumps(case, ensure_ascii=False) for case in store.export_cases()]
    if out is None:
        for line in lines:
            typer.echo(line)
    else:
        with open(out, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
        errors.print(f"wrote {len(lines)} cases to {out}")


class SplitName(enum.StrEnum):
    dev = "dev"
    test = "test"
    all = "all"


@app.command("eval")
def evaluate_command(
    split: Annotated[SplitName, typer.Option(help="Which part of the gold set.")] = SplitName.all,
    baseline: Annotated[bool, typer.Option(help="Also run the plain llama-index baseline.")] = True,
    out: Annotated[
        str, typer.Option(help="Directory for report.md, report.json, chart.png.")
    ] = "eval/reports",
    gold: Annotated[str, typer.Option(help="Gold set (JSON lines).")] = "eval/gold.jsonl",
    url: Annotated[
        str | None, typer.Option(help="Evaluate a running server (e.g. http://127.0.0.1:8000).")
    ] = None,
) -> None:
    """Measure answers and retrieval on the gold set, side by side with the baseline."""
    from pathlib import Path

    from tqdm import tqdm

    from cancerassist.chat import ChatService
    from cancerassist.evaluate import (
        BaselineSystem,
        HttpSystem,
        OurSystem,
        System,
        load_gold,
        run_evaluation,
        write_report,
    )

    settings = get_settings()
    items = load_gold(Path(gold), split.value)
    started = time.perf_counter()
    try:
        service = ChatService.from_settings(settings)
    except IndexUnavailableError as exc:
        raise _fail(str(exc)) from exc
    systems: list[System] = [HttpSystem(url, service) if url else OurSystem(service)]
    if baseline:
        systems.append(BaselineSystem(service.index.documents, _embedder(settings)))
    with tqdm(total=len(items) * len(systems), desc="Evaluating", unit="question") as bar:
        report = run_evaluation(
            items, systems, service.index.documents, split.value, progress=bar.update
        )
    report.notes = {
        "gold set": f"{gold} ({len(items)} questions)",
        "model": service.index.manifest.embedding.model_id,
        "index build": service.index.manifest.build_id,
        "command": f"cancerassist eval --gold {gold} --split {split.value}"
        + (" --baseline" if baseline else " --no-baseline"),
        "wall time": f"{time.perf_counter() - started:.0f} s",
    }
    paths = write_report(report, Path(out))
    for name, summary in report.systems.items():
        overall = summary["overall"]
        console.print(
            f"[bold]{name}[/]: accuracy {overall['accuracy']}, "
            f"no-answer recall {overall['no_answer_recall']}, "
            f"exactness {overall['fact_exactness']}, "
            f"hit@3 {overall.get('hit_rate@3')}, p50 {overall['latency_p50_ms']} ms"
        )
    console.print(f"Report: {paths['markdown']}, {paths['json']}, {paths['chart']}")


@app.command("eval-facts")
def evaluate_facts_command(
    expected: Annotated[
        str, typer.Option(help="Hand-checked facts (JSON lines).")
    ] = "eval/unseen/facts.jsonl",
    out: Annotated[str, typer.Option(help="Directory for facts.md and facts.json.")] = (
        "eval/reports/unseen-facts"
    ),
) -> None:
    """Precision and recall of the extracted facts against a hand-checked list, per type."""
    from pathlib import Path

    from cancerassist.factcheck import load_expected, score_facts, write_fact_report

    settings = get_settings()
    try:
        store = load_facts(settings.index_dir)
    except IndexUnavailableError as exc:
        raise _fail(str(exc)) from exc
    report = score_facts(load_expected(Path(expected)), store)
    path = write_fact_report(report, Path(out), f"cancerassist eval-facts --expected {expected}")
    for kind, score in [*report.by_type.items(), ("all", report.overall)]:
        console.print(
            f"{kind}: precision {score.precision} ({score.correct}/{score.extracted}), "
            f"recall {score.recall} ({score.found}/{score.expected})"
        )
    console.print(f"Report: {path}")

"""Do the reference documents' answers change when the unseen documents are added?

Run ``make eval-unseen`` first (it builds ``.unseen/indexes`` from ``corpus/`` plus
``eval/unseen/corpus/``), then::

    .venv/bin/python eval/unseen/compare.py --out eval/reports/unseen-changes.md

Every question of the gold set and of the blind set's dev part is answered on the reference
build (``indexes/``) and on the build with the unseen documents; the report lists the
questions whose answer text differs, and which went from right to wrong or back.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cancerassist.chat import ChatService
from cancerassist.config import Settings
from cancerassist.evaluate import GoldItem, OurSystem, is_correct, load_gold


def _answers(settings: Settings, items: list[GoldItem]) -> dict[str, tuple[str, bool]]:
    system = OurSystem(ChatService.from_settings(settings, build_if_missing=False))
    out = {}
    for item in items:
        reply = system.answer(item.turns)
        out[item.id] = (reply.answer, is_correct(item, reply))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("eval/reports/unseen-changes.md"))
    args = parser.parse_args()
    items = load_gold(Path("eval/gold.jsonl"), "all") + load_gold(Path("eval/blind.jsonl"), "dev")
    alone = _answers(Settings(corpus_dir=Path("corpus"), index_dir=Path("indexes")), items)
    added = _answers(
        Settings(corpus_dir=Path(".unseen/corpus"), index_dir=Path(".unseen/indexes")), items
    )
    changed = [i.id for i in items if alone[i.id][0] != added[i.id][0]]
    broke = [q for q in changed if alone[q][1] and not added[q][1]]
    mended = [q for q in changed if added[q][1] and not alone[q][1]]
    lines = [
        "# Reference answers with the unseen documents added",
        "",
        f"{len(items)} questions (gold set, blind dev); {len(changed)} answers change; "
        f"right on the reference build: {sum(a[1] for a in alone.values())}, with the unseen "
        f"documents: {sum(a[1] for a in added.values())}.",
        "",
        f"- right → wrong: {', '.join(broke) or 'none'}",
        f"- wrong → right: {', '.join(mended) or 'none'}",
        "",
        "| question | reference build | with the unseen documents |",
        "|---|---|---|",
        *[
            f"| {q} | {alone[q][0][:120]!r} | {added[q][0][:120]!r} |".replace("\n", " ")
            for q in changed
        ],
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(lines[2])


if __name__ == "__main__":
    main()

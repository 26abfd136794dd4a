"""The guard that keeps a language model's answer to what the evidence says."""

from __future__ import annotations

from cancerassist.llm import evidence_block, unsupported_claims

EVIDENCE = (
    "2014 2.525 millions d’euros\nInstitut Curie techtransfer@curie.fr\n"
    "CNRS http://www.dgdr.cnrs.fr/daj/partenariat/annuaire/spv.htm\nTél. : +33 (1) 41 10 50 00"
)


def test_supported_claims_pass() -> None:
    answer = (
        "In 2014 the Region granted 2.525 million euros [1]. Contact techtransfer@curie.fr [2], "
        "see http://www.dgdr.cnrs.fr/daj/partenariat/annuaire/spv.htm or call +33 1 41 10 50 00."
    )
    assert unsupported_claims(answer, EVIDENCE) == []


def test_invented_contacts_and_figures_are_caught() -> None:
    answer = (
        "Write to valorisation@curie.fr, see www.curie-transfer.fr, call +33 1 23 45 67 89; "
        "3.1 million euros."
    )
    problems = unsupported_claims(answer, EVIDENCE)
    assert "valorisation@curie.fr" in problems
    assert "www.curie-transfer.fr" in problems
    assert "+33 1 23 45 67 89" in problems
    assert "3.1 million euros" in problems
    assert len(problems) == 4


def test_evidence_is_fenced_and_numbered() -> None:
    block = evidence_block(["first passage", "second passage"])
    assert block.startswith("<<<UNTRUSTED_DOCUMENTS\n[1] first passage")
    assert block.endswith("[2] second passage\nUNTRUSTED_DOCUMENTS>>>")

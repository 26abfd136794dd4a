"""Every sentence exists in both languages, with the same placeholders."""

from __future__ import annotations

import re
import tomllib

from cancerassist.answer import Prompts

from .conftest import ROOT


def test_french_and_english_prompts_match() -> None:
    prompts = Prompts.load(ROOT / "prompts")
    french, english = prompts.templates["fr"], prompts.templates["en"]
    assert set(french) == set(english)
    for key in french:
        assert set(re.findall(r"{(\w+)}", french[key])) == set(
            re.findall(r"{(\w+)}", english[key])
        ), key
    with (ROOT / "prompts" / "en.toml").open("rb") as f:
        assert "UNTRUSTED_DOCUMENTS" in tomllib.load(f)["llm"]["system"]

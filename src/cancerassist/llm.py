"""The optional language model: any OpenAI-compatible server, reached through the ``openai``
client, and the guard that keeps its answers to what the evidence says.

Retrieved text is data, not instructions: the prompt puts it inside a delimited block marked as
untrusted, and :func:`unsupported_claims` rejects an answer whose e-mail addresses, web
addresses, phone numbers or figures are not in that evidence; the caller then falls back to the
extractive answer.

Example::

    llm = OpenAILikeLLM(base_url="http://127.0.0.1:11434/v1", model="qwen2.5", api_key="x")
    text = "".join(llm.stream(messages))
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import TYPE_CHECKING, Protocol, cast

import phonenumbers

from cancerassist.amounts import find_amounts
from cancerassist.deadline import time_left
from cancerassist.text import EMAIL, WEB_ADDRESS

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

_NUMBER = re.compile(r"\d[\d\s.,\u00a0\u202f]*\d|\d")
EVIDENCE_OPEN = "<<<UNTRUSTED_DOCUMENTS"
EVIDENCE_CLOSE = "UNTRUSTED_DOCUMENTS>>>"


class LLM(Protocol):
    """What the chat service needs from a language model: a streamed reply to a conversation,
    which the caller may close before its end (the request's deadline passed)."""

    def stream(self, messages: list[dict[str, str]]) -> Generator[str, None, None]: ...


class OpenAILikeLLM:
    """Any OpenAI-compatible server, through the ``openai`` client. (llama-index's
    ``OpenAILike`` hid the HTTP stream inside its own generators: a reply abandoned at the
    deadline kept its connection, and the server kept generating, until a garbage collection.)"""

    def __init__(self, *, base_url: str, model: str, api_key: str, timeout_s: float = 30.0) -> None:
        from openai import OpenAI

        self._client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0)
        self._model, self._timeout_s = model, timeout_s

    def stream(self, messages: list[dict[str, str]]) -> Generator[str, None, None]:
        # Waiting for the server's first byte ends with the request's deadline too.
        left = time_left()
        timeout = self._timeout_s if left is None else max(0.1, min(self._timeout_s, left))
        reply = self._client.chat.completions.create(
            model=self._model,
            messages=cast("list[ChatCompletionMessageParam]", messages),
            stream=True,
            temperature=0.0,
            timeout=timeout,
        )
        with reply:  # closing the generator closes the connection: the server stops
            for chunk in reply:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content


def evidence_block(passages: list[str]) -> str:
    """The retrieved text, numbered and fenced so the model can cite it and not obey it."""
    body = "\n\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1))
    return f"{EVIDENCE_OPEN}\n{body}\n{EVIDENCE_CLOSE}"


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def unsupported_claims(answer: str, evidence: str) -> list[str]:
    """E-mail and web addresses, phone numbers and figures of ``answer`` absent from ``evidence``.

    Figures match by value (``2.525 million euros`` is in ``2.525 millions d'euros``) or by
    their digits; citation markers such as ``[1]`` are not figures.
    """
    problems: list[str] = []
    lowered = evidence.lower()
    problems += [e for e in EMAIL.findall(answer) if e.lower() not in lowered]
    # Blank out what was checked, keeping offsets, so its digits are not read as figures.
    rest = EMAIL.sub(lambda m: " " * len(m.group()), answer)
    for url in WEB_ADDRESS.finditer(rest):
        address = url.group().rstrip(".,;:!?")
        if address.lower().rstrip("/") not in lowered:
            problems.append(address)
    rest = WEB_ADDRESS.sub(lambda m: " " * len(m.group()), rest)
    evidence_phones = {_e164(m.number) for m in phonenumbers.PhoneNumberMatcher(evidence, "FR")}
    for match in phonenumbers.PhoneNumberMatcher(rest, "FR"):
        if _e164(match.number) not in evidence_phones:
            problems.append(match.raw_string)
        rest = rest[: match.start] + " " * (match.end - match.start) + rest[match.end :]
    values = {a.value for a in find_amounts(evidence, money_only=False)}
    digit_runs = {_digits(n) for n in _NUMBER.findall(evidence)}
    for amount in find_amounts(rest, money_only=False):
        if re.fullmatch(r"\[\d+\]", rest[amount.start - 1 : amount.end + 1]):
            continue  # a citation marker
        if amount.value not in values and _digits(amount.text) not in digit_runs:
            problems.append(amount.text)
    return problems

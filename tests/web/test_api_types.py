"""The browser app's API types (harmony_split/frontend/src/api-schema.ts) are generated from the server's OpenAPI
schema (drf-spectacular, then openapi-typescript through ``npm run api-types``): this fails when the committed file
is not what the current serializers and views give, naming the command that regenerates it."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

from django.test import Client

from tests.web.helpers import MANAGE, REPO, upload

FRONTEND = REPO / "harmony_split" / "frontend"
GENERATED = FRONTEND / "src" / "api-schema.ts"


def generated_types(schema: Path) -> str:
    """The TypeScript that ``npm run api-types`` makes of ``schema`` (needs ``npm ci`` in the frontend)."""
    if not (FRONTEND / "node_modules" / ".bin" / "openapi-typescript").is_file():
        raise RuntimeError("harmony_split/frontend/node_modules lacks openapi-typescript: run `make frontend` "
                           "(npm ci in harmony_split/frontend)")
    answer = subprocess.run(["npm", "run", "--silent", "api-types", "--", str(schema)], cwd=FRONTEND,
                            capture_output=True, text=True, timeout=120)
    assert answer.returncode == 0, answer.stderr.strip().splitlines()[-1:]
    return answer.stdout


def test_generated_api_types_are_current(tmp_path: Path) -> None:
    schema = tmp_path / "schema.yaml"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, str(MANAGE), "spectacular", "--file", str(schema)], env=env, check=True,
                   timeout=300)
    fresh = generated_types(schema)
    committed = GENERATED.read_text(encoding="utf-8") if GENERATED.is_file() else ""
    stale = list(difflib.unified_diff(committed.splitlines(), fresh.splitlines(), "committed", "generated",
                                      lineterm="", n=0))
    assert not stale, (f"{GENERATED.relative_to(REPO)} is stale: run `make api-types`; first differences:\n"
                       + "\n".join(stale[:12]))


def test_schema_says_what_the_api_sends(alice, audio) -> None:  # noqa: ANN001
    """A done track's body has exactly the schema's required fields; ``format`` is an enum and ``stems`` lists
    only vocals and accompaniment (the drift the hand-written types had: no ``format``, a ``stems.mixture``)."""
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["components"]
    track, stems = schema["schemas"]["Track"], schema["schemas"]["Stems"]
    done = alice.get(f"/api/tracks/{upload(alice, audio('s.wav', seconds=1.0)).json()['id']}/").json()
    assert set(done) == set(track["properties"]) == set(track["required"])
    assert set(done["stems"]) == set(stems["properties"]) == set(stems["required"]) == {"vocals", "accompaniment"}
    assert track["properties"]["format"]["allOf"][0]["$ref"] == "#/components/schemas/FormatEnum"
    assert done["format"] in schema["schemas"]["FormatEnum"]["enum"]


def test_the_browser_accepts_exactly_the_extensions_the_server_reads() -> None:
    import re

    from Input.audio.probe import AUDIO_EXTENSIONS

    source = (FRONTEND / "src" / "logic" / "validation.ts").read_text()
    listed = re.search(r"export const AUDIO_EXTENSIONS = \[([^\]]*)\]", source)
    assert listed is not None, "AUDIO_EXTENSIONS not found in validation.ts"
    assert sorted(re.findall(r'"(\.[a-z0-9]+)"', listed.group(1))) == sorted(AUDIO_EXTENSIONS)

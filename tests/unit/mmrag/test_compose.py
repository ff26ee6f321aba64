"""docker-compose.yml cannot run here (no Docker daemon), so it is checked as data: every
service it refers to exists, every MMRAG_ setting is one mmrag reads, URLs point at services
of the file, commands are real mmrag commands, and every service has a health check."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from typer.main import get_command

from mmrag.cli import app
from mmrag.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_services_depend_on_services_that_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"api", "worker-extract", "worker-embed", "postgres", "redis", "qdrant"} <= set(services)
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on missing service {needed}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith((".", "/")) or source in compose["volumes"], volume
        assert "healthcheck" in service or name.startswith("worker"), f"{name}: no healthcheck"


def test_settings_are_ones_mmrag_reads_and_point_at_services(compose: dict[str, Any]) -> None:
    known = {f"MMRAG_{name.upper()}" for name in Settings.model_fields}
    services = compose["services"]
    for name, service in services.items():
        environment = service.get("environment", {})
        for key, value in environment.items():
            if not key.startswith("MMRAG_"):
                continue
            assert key in known, f"{name}: {key} is not a setting mmrag reads"
            if key.endswith("_URL"):
                host = urlparse(str(value).replace("+psycopg", "")).hostname
                assert host in services, f"{name}: {key} points at {host}, not a service"
        if name.startswith(("api", "worker")):
            settings = Settings(**{k[6:].lower(): v for k, v in environment.items()})  # type: ignore[arg-type]
            assert settings.vector_store == "qdrant" and not settings.embedded_broker


def test_commands_are_mmrag_commands_with_real_options(compose: dict[str, Any]) -> None:
    cli = get_command(app)
    for name, service in compose["services"].items():
        command = service.get("command")
        if not command or command[0] != "mmrag":
            continue
        sub = cli.commands[command[1]]  # type: ignore[attr-defined]
        options = {opt for param in sub.params for opt in getattr(param, "opts", [])}
        options |= {opt for param in sub.params for opt in getattr(param, "secondary_opts", [])}
        for word in command[2:]:
            if word.startswith("--"):
                assert word in options, f"{name}: {word} is not an option of mmrag {command[1]}"


def test_dockerfile_copies_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) ", dockerfile, re.M))
    packages = {"mmrag", "ingest", "index", "retrieve", "generate", "api", "workers"}
    assert packages <= copied

"""Fixtures shared by every test: settings on a temp data dir, catalogs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from mmrag.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "MMRAG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("MMRAG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# No test may reach a model hub, whatever the machine's network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Quick clocks so leases, sweeps and the embedded broker act within a test's patience, and
# the models tests can have: the real text model from its package, tiny random CLIP/CLAP.
FAST = {
    "offline": True,
    "allow_random_weights": True,
    "image_model": "mmrag-tiny-clip",
    "audio_model": "mmrag-tiny-clap",
    "broker_polling_interval": 0.05,
    "sweep_interval_seconds": 1.0,
    "requeue_after_seconds": 3.0,
    "lease_seconds": 6.0,
    "task_max_retries": 2,
    "worker_concurrency": 2,
    "min_free_bytes": 8 * 1024 * 1024,  # headroom kept small: test machines can be tight
    "warm_before_serving_s": 0,  # most tests never search: they need not wait for models
}


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(data_dir=data_dir, **{**FAST, **overrides})  # type: ignore[arg-type]


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment that makes a child process (worker, CLI) see ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMRAG_")}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        env[f"MMRAG_{name.upper()}"] = (
            json.dumps(value) if isinstance(value, list | dict) else str(value)
        )
    return env


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"mmrag_t_{uuid.uuid4().hex[:12]}"
    admin = make_url(POSTGRES_ADMIN_URL)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {admin.host}:{admin.port} is required: {exc}")
    yield admin.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url

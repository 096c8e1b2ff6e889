"""Alembic migrations, run in-process by `tocsin db upgrade` (no alembic.ini needed)."""

from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config


def alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = connection
    return config

"""Settings shared by the example suites."""

from __future__ import annotations

import os
from pathlib import Path

# The aws-iatk ports call generate_mock_event(registry_name=..., schema_name=...), as the originals do.
# moto has no Schema Registry: on the embedded backend the schema files under aws_iatk_port/schemas stand
# in for it (iatk ignores the setting on AWS). A schema dir the user gives (--iatk-schema-dir,
# iatk_schema_dir, IATK_SCHEMA_DIR) wins.
os.environ.setdefault("IATK_SCHEMA_DIR", str(Path(__file__).parent / "aws_iatk_port" / "schemas"))

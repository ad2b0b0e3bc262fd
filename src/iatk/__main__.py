"""``python -m iatk``: the same as the ``iatk`` command."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())

"""The hook iatk adds to pytest: ``pytest_iatk_configured``, for conftests and plugins."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._access import IatkRun


@pytest.hookspec(historic=True)
def pytest_iatk_configured(config: pytest.Config, run: IatkRun) -> None:
    """Called once iatk has configured the run: its settings, run id and backend are in place.

    ``run.session`` is the run's boto3 Session (built on first use: on AWS this is where a bad
    profile shows), ``run.backend`` the embedded :class:`~iatk.EmbeddedBackend` under
    ``--iatk-backend=moto`` (else None), ``run.env()`` the variables that point a child process at
    the same backend. Historic: a conftest registered later (a sub-folder's) is called too.
    """

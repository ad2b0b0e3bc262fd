"""Backends other than real AWS. Only :mod:`iatk._backend.moto`, the embedded backend, so far."""

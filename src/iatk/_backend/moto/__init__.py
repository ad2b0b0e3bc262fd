"""The embedded backend: everything that exists only to run iatk's suites on a local moto server.

Nothing outside this package imports moto. The public entry points stay in :mod:`iatk.embedded`
(``EmbeddedBackend``, ``embedded_session``); the modules here are its parts.
"""

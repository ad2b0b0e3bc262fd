"""The schema dir: a folder of schema files standing in for the Schema Registry on the embedded backend.

moto has no schemas service, so with ``schema_dir`` set (``--iatk-schema-dir``) ``registry=`` +
``schema=`` read a file instead: ``<dir>/<registry>/<schema>.json`` (or ``.yaml`` / ``.yml``)
serves every version, ``<dir>/<registry>/<schema>/<version>.json`` one version. This module knows
that layout (what exists, which file answers a request); :mod:`iatk.mock_events` reads the file,
caches it and words the errors. No moto import: it is plain files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["SCHEMA_SUFFIXES", "SchemaFolder", "schema_files", "version_order"]

#: The schema file suffixes, in the order a name found with several is read.
SCHEMA_SUFFIXES = (".json", ".yaml", ".yml")


def schema_files(folder: Path) -> dict[str, Path]:
    """The schema files directly in ``folder``, by name without the suffix (.json before .yaml, .yml)."""
    found: dict[str, Path] = {}
    for suffix in SCHEMA_SUFFIXES:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() == suffix and path.is_file():
                found.setdefault(path.stem, path)
    return found


def version_order(version: str) -> tuple[int, str]:
    """A sort key for versions: numeric ones in number order ("2" < "10") without failing on others."""
    return (len(version), version)


@dataclass(frozen=True, slots=True)
class SchemaFolder:
    """A schema dir read as the Schema Registry answers: its registries, schemas, versions, one file."""

    root: Path

    def registry_dir(self, registry: str) -> Path:
        """The folder of one registry (it may not exist)."""
        return self.root / registry

    def versions_dir(self, registry: str, name: str) -> Path:
        """The folder of one schema's versions (it may not exist)."""
        return self.root / registry / name

    def registries(self) -> list[str]:
        """The registries: the folders in the root."""
        return [p.name for p in self.root.iterdir() if p.is_dir()]

    def schemas(self, registry: str) -> set[str]:
        """The schemas of a registry: its schema files and its folders (of versions)."""
        folder = self.registry_dir(registry)
        return set(schema_files(folder)) | {p.name for p in folder.iterdir() if p.is_dir()}

    def versions(self, registry: str, name: str) -> dict[str, Path]:
        """A schema's version files by version, lowest first (empty when it has no versions folder)."""
        folder = self.versions_dir(registry, name)
        found = schema_files(folder) if folder.is_dir() else {}
        return {version: found[version] for version in sorted(found, key=version_order)}

    def find(self, registry: str, name: str, version: str | None) -> tuple[Path | None, str | None]:
        """The file that serves ``version`` of ``name`` (None: no file does) and the version it holds.

        That version's file, else the unversioned ``<schema>.json`` (version None), else with no
        version asked the highest version's file. The registry folder must exist.
        """
        flat = schema_files(self.registry_dir(registry)).get(name)
        versions = self.versions(registry, name)
        if version is not None and version in versions:
            return versions[version], version
        if flat is not None:
            return flat, None
        if version is None and versions:
            chosen = max(versions, key=version_order)
            return versions[chosen], chosen
        return None, None

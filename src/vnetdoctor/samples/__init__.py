"""The bundled sample estates: real-shaped ARM JSON that every command can run on (``--sample``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from vnetdoctor.errors import OutputError, UsageError
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.outfile import copy_tree

DEFAULT_SAMPLE = "contoso"


def _root() -> Path:
    return Path(str(resources.files(__package__)))


def sample_names() -> list[str]:
    """Names of the bundled estates."""
    return sorted(p.name for p in _root().iterdir() if p.is_dir() and not p.name.startswith("_"))


def sample_path(name: str = DEFAULT_SAMPLE) -> Path:
    """The folder of a bundled estate. Only the names :func:`sample_names` lists are accepted,
    so that a name such as ``../samples/contoso`` cannot reach another folder."""
    if name not in sample_names():
        raise UsageError(f"no sample named {name!r}; available: {', '.join(sample_names())}")
    return _root() / name


def snapshot_files(name: str = DEFAULT_SAMPLE) -> list[Path]:
    """The configuration files of a sample (its ARM JSON and classic XML, not guest artefacts)."""
    root = sample_path(name)
    files = sorted(root.glob("*.json")) + sorted((root / "classic").glob("*.xml"))
    return [p for p in files if p.is_file()]


def load_sample(name: str = DEFAULT_SAMPLE) -> Snapshot:
    from vnetdoctor.ingest.loader import load_snapshot

    return load_snapshot(snapshot_files(name))


def write_sample(out: Path, name: str = DEFAULT_SAMPLE) -> Path:
    """Copy a sample to ``out/<name>``, all or nothing (a failed copy leaves no folder, so a
    rerun works); refuses to overwrite an existing folder."""
    source = sample_path(name)
    target = out / name
    if target.exists():
        raise UsageError(f"{target} already exists; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(str(out), exc.strerror or str(exc)) from None
    return copy_tree(source, target)

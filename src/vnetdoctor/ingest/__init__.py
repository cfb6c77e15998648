"""Outside data -> the model: ARM JSON, Service Management XML, folders of either."""

from vnetdoctor.ingest.loader import load_snapshot

__all__ = ["load_snapshot"]

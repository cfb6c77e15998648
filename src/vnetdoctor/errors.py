"""The exceptions vnetdoctor raises when *the tool* cannot do its job.

Facts about the network (a deny rule, a broken peering) are findings, never exceptions. An
exception means the input or the request is unusable, and its message is one line that names the
file, resource and field at fault, because that line is all a person sees on the command line.

::

    VnetDoctorError
    ├── InputError (ValueError)     bad input: exit code 2
    │   ├── SnapshotParseError      a snapshot file is unreadable, malformed or of the wrong shape
    │   ├── EvidenceParseError      a guest artefact or flow log cannot be read
    │   └── UsageError              a request that cannot be answered as asked (bad flag value)
    ├── ResourceNotFound (InputError, LookupError)
    │                               a named VM/NIC/NSG is absent, or a name is ambiguous
    ├── OutputError                 an output file or folder cannot be written: exit code 2
    ├── CollectionError             live collection from Azure failed: exit code 4
    └── InternalError               a bug
"""

from __future__ import annotations

from collections.abc import Sequence


class VnetDoctorError(Exception):
    """Base of every error vnetdoctor raises on purpose."""

    exit_code = 2


class InputError(VnetDoctorError, ValueError):
    """Input that vnetdoctor cannot use. The message names what is wrong and where."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        resource_id: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = path
        self.resource_id = resource_id
        self.field = field
        self.line = line
        self.detail = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.path:
            where.append(self.path if self.line is None else f"{self.path}:{self.line}")
        if self.resource_id:
            where.append(f"resource {self.resource_id}")
        if self.field:
            where.append(f"field {self.field}")
        prefix = ", ".join(where)
        text = f"{prefix}: {self.detail}" if prefix else self.detail
        # One line, always: names and values in messages come from the input.
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class SnapshotParseError(InputError):
    """A snapshot file that is not valid JSON/XML, is truncated, or has the wrong shape."""


class EvidenceParseError(InputError):
    """A guest artefact or flow-log file that cannot be read."""


class UsageError(InputError):
    """A request that cannot be answered as asked."""


class ResourceNotFound(InputError, LookupError):
    """A VM, NIC or other resource named by the user is absent, or the name is ambiguous."""

    def __init__(self, kind: str, name: str, candidates: Sequence[str] = ()) -> None:
        self.kind = kind
        self.name = name
        self.candidates = tuple(candidates)
        if self.candidates:
            listed = ", ".join(self.candidates[:10])
            more = f" and {len(self.candidates) - 10} more" if len(self.candidates) > 10 else ""
            message = f"{kind} name {name!r} is ambiguous; use one of: {listed}{more}"
        else:
            message = f"no {kind} named {name!r} in the snapshot"
        super().__init__(message)


class OutputError(VnetDoctorError):
    """A destination (``--out``, ``--junit``, ``--cache``) that cannot be written: a read-only or
    full disk, a missing folder, no permission, or something that is not a file."""

    exit_code = 2

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        text = f"cannot write {path}: {reason}"
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in text))


class CollectionError(VnetDoctorError):
    """Reading the configuration live from Azure failed."""

    exit_code = 4


class InternalError(VnetDoctorError):
    """A bug in vnetdoctor. Please report it with the output of ``--debug``."""

    exit_code = 70

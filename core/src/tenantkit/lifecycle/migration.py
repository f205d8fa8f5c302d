"""What a migration (``tenantkit migrate``) did: the summary both kinds return."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantkit.lifecycle.digest import Tally

__all__ = ["MigrationSummary"]


@dataclass
class MigrationSummary:
    """Counts of a TinyDB import or an uploads import and their verification.

    ``written`` tallies what the tenant now holds from the input (items or objects,
    count and digest); ``rejected`` counts what was not migrated, each listed in the
    ``report`` file; ``sources`` has per-table (or per-directory) counts; ``problems``
    says what the verification found different (empty: verified).
    """

    kind: str
    tenant_id: str
    written: Tally
    rejected: int
    report: Path
    seconds: float
    resumed: bool
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.problems

    @property
    def ok(self) -> bool:
        """Everything was migrated and verified (the command's exit status 0)."""
        return self.verified and self.rejected == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": f"migrate {self.kind}",
            "tenant_id": self.tenant_id,
            "written": self.written.to_dict(),
            "rejected": self.rejected,
            "report": str(self.report),
            "sources": self.sources,
            "verified": self.verified,
            "problems": self.problems,
            "resumed": self.resumed,
            "seconds": round(self.seconds, 3),
        }

"""The size policy: budgets and thresholds, the units of every message, and the budget and waste rules.

Units: bytes everywhere in data; MB = 10^6 bytes in every message and table. "Compressed" is what a
registry stores (the gzipped layer blobs, see layers.py); "uncompressed" is what `docker image ls`
shows (the inspect `Size`). Budgets and growth are enforced on the compressed size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reactor_harness.family.policy import MB, FamilyPolicy, headroom_limit

__all__ = ["MB", "SizePolicy", "megabytes", "signed_megabytes"]


@dataclass(frozen=True)
class SizePolicy:
    """The size rules, declared once: budgets per image (compressed) and the regression thresholds."""

    budgets: Mapping[str, int]  # image name -> compressed budget in bytes
    default_budget: int  # every image not named above (the language images)
    growth_limit: float  # compressed growth over the baseline that fails, as a fraction
    waste_limit: int  # bytes the image's own layers may ship and then delete or overwrite
    large_file: int  # files above this, added by the image's own layers, are listed
    shrink_notice: float  # shrinking by more than this is reported (rewrite the baseline to keep it)
    headroom: float = 0.0  # fraction of its budget every image keeps free

    def budget_for(self, image: str) -> int:
        return self.budgets.get(image, self.default_budget)

    def limit_for(self, image: str) -> int:
        """The compressed size the image may reach: its budget less the headroom it keeps free."""
        return headroom_limit(self.budget_for(image), self.headroom)

    @classmethod
    def from_family(cls, policy: FamilyPolicy) -> SizePolicy:
        """The size part of the family's policy (images/policy.toml)."""
        return cls(
            budgets=policy.budgets,
            default_budget=policy.default_budget,
            growth_limit=policy.growth_limit,
            waste_limit=policy.waste_limit,
            large_file=policy.large_file,
            shrink_notice=policy.shrink_notice,
            headroom=policy.headroom,
        )


def megabytes(size: int) -> str:
    """Bytes as MB (10^6 bytes) with one decimal: `123.4 MB`."""
    return f"{size / MB:.1f} MB"


def signed_megabytes(size: int) -> str:
    return ("+" if size >= 0 else "-") + megabytes(abs(size))

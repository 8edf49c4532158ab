"""``make demo``: the governance flow on embedded defaults, the same source as three users.

Everything lives under ``.demo/`` (SQLite catalog). Run it again and it starts afresh.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.cli import render_plan_text

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf" / "governance.yaml"


def main(workdir: Path | None = None) -> int:
    """Apply the example policies, then explain one source for alice, bob and carol."""
    work = workdir or ROOT / ".demo"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    catalog = GovernanceCatalog.open(f"sqlite:///{work / 'catalog.db'}", identity="alice")
    print(f"applying {CONF.relative_to(ROOT)}: {catalog.apply(CONF).summary()}")
    why = {
        "alice": "Legal: exempt from the PII masks; Missouri office",
        "bob": "Medical Claims group, Ohio office: PII masked, ip regex-masked, Ohio rows only",
        "carol": "Finance: sees all rows and exact amounts; PII still masked",
    }
    for user, reason in why.items():
        print("\n" + "=" * 100)
        print(f"{user}: {reason}")
        print(render_plan_text(catalog.explain("Medical Claims", user=user)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""What every ``immuta-spark`` command module shares: JSON and table output."""

from __future__ import annotations

import json
from typing import Any, TextIO

__all__ = ["print_json", "text_table"]


def print_json(out: TextIO, data: Any) -> int:
    """Write ``data`` as indented JSON and a newline; the command's exit status (0)."""
    json.dump(data, out, indent=2)
    out.write("\n")
    return 0


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    """Rows under their headers, in columns as wide as their widest cell."""
    widths = [max([len(h), *(len(str(r[i])) for r in rows)]) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join(line.rstrip() for line in out) + "\n"

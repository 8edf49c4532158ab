"""What every ``immuta-spark`` command module shares: JSON output."""

from __future__ import annotations

import json
from typing import Any, TextIO

__all__ = ["print_json"]


def print_json(out: TextIO, data: Any) -> int:
    """Write ``data`` as indented JSON and a newline; the command's exit status (0)."""
    json.dump(data, out, indent=2)
    out.write("\n")
    return 0

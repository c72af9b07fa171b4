"""``python -m local.synth STAGE OUTDIR``: synthesize in a process of its own.

The runtime synthesizes in a child process so that jsii's Node kernel exits with it instead of
living as long as ``make dev``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from local.assembly import synthesize


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        print("usage: python -m local.synth STAGE OUTDIR", file=sys.stderr)
        return 2
    synthesize(args[0], Path(args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

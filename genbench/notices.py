"""One-line notices on stderr about work genbench redoes or files it skips (shown even with ``--quiet``).

Progress lines go to stdout and obey ``--quiet``; a notice says why something unexpected happened
(a corrupt shard recomputed, an unreadable result left off a leaderboard), so it is never hidden.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def notice(message: str) -> None:
    """Print ``genbench: message`` on stderr without breaking a progress bar."""
    tqdm.write(f"genbench: {message}", file=sys.stderr)

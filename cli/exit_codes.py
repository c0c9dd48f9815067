"""Process exit status per run status, so shell scripts can tell the outcomes apart."""

from __future__ import annotations

EXIT_USAGE = 2
"""Usage errors (argparse's own code): bad flags, unreadable input, nothing to do."""

EXIT_CODES: dict[str, int] = {
    "success": 0,
    "completed": 0,
    "failure": 1,
    "max_steps": 3,
    "stuck": 4,
    "error": 5,
    "mismatch": 6,
    "timeout": 7,
    "interrupted": 130,
}
"""Every run status (``completed`` and ``mismatch`` are a replay's, ``timeout`` a batch task's)."""

RUN_EXIT_HELP = ("exit status: 0 success, 1 failure, 3 max_steps, 4 stuck, 5 error, "
                 f"130 interrupted, {EXIT_USAGE} usage error")
REPLAY_EXIT_HELP = ("exit status: 0 completed (or the model finished with success), 1 failure, "
                    f"{EXIT_CODES['mismatch']} mismatch (stopped at, or the model stood in for, a "
                    f"screen the recording does not show), 5 error, 130 interrupted, "
                    f"{EXIT_USAGE} usage error")

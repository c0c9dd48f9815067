"""Process exit status per outcome, so shell scripts can tell the outcomes apart."""

from __future__ import annotations

EXIT_CODES: dict[str, int] = {
    "success": 0,
    "failure": 1,
    "max_steps": 3,
    "stuck": 4,
    "error": 5,
    "interrupted": 130,
}
"""Per run status; 2 is left to usage errors (argparse's)."""
EXIT_USAGE = 2
EXIT_MISMATCH = 6
"""``replay`` only: stopped at a screen that differs from the recording."""

REPLAY_EXIT_CODES: dict[str, int] = {
    "completed": EXIT_CODES["success"], "success": EXIT_CODES["success"],
    "failure": EXIT_CODES["failure"], "mismatch": EXIT_MISMATCH, "error": EXIT_CODES["error"],
    "interrupted": EXIT_CODES["interrupted"],
}
"""Per replay outcome."""

RUN_EXIT_HELP = ("exit status: " + ", ".join(f"{code} {name}" for name, code in EXIT_CODES.items())
                 + f", {EXIT_USAGE} usage error")
REPLAY_EXIT_HELP = ("exit status: 0 completed (or the model finished with success), 1 failure, "
                    f"{EXIT_MISMATCH} stopped at a mismatch, 5 error, 130 interrupted, "
                    f"{EXIT_USAGE} usage error")

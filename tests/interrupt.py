"""Children that a test interrupts with SIGINT, as Ctrl-C in a terminal would.

A process started in the background by a non-interactive shell (`cmd &`, nohup, some CI runners)
inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler: a test's SIGINT
would do nothing. Each such child gets SIGINT's default back before it starts (Popen's preexec_fn),
so the test checks the harness's Ctrl-C handling whatever launched the test suite.
"""

from __future__ import annotations

import signal


def sigint_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)

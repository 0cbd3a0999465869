"""Run every benchmark in bench/ with its defaults (`make bench`).

Each bench/*.py except this file and helper modules (names starting with "_") is
run in turn with the same Python and no arguments. Their JSON result lines go to
stdout, their progress to stderr. The exit status is 0 when every script exited
0 (a benchmark reports figures, it does not pass or fail on them), otherwise 1.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts() -> list[Path]:
    return sorted(
        path
        for path in HERE.glob("*.py")
        if path.name != Path(__file__).name and not path.name.startswith("_")
    )


def main() -> int:
    signal.signal(signal.SIGTERM, lambda signum, frame: (_ for _ in ()).throw(KeyboardInterrupt()))
    failed: list[str] = []
    for script in scripts():
        print(f"== {script.name}", file=sys.stderr, flush=True)
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, str(script)], cwd=HERE.parent)
        try:
            code = process.wait()
        except KeyboardInterrupt:
            # Let the benchmark stop the servers it started before we go.
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
            print("interrupted", file=sys.stderr)
            return 130
        print(
            f"== {script.name}: exit {code} after {time.monotonic() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

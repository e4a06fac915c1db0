"""``python -m fresco.platform.services start|stop|status|download [cassandra|kafka]``.

Exit codes: 0 success (``status``: the service runs and answers), 1 failure, 3 ``status``: not running.
"""

from __future__ import annotations

import argparse
import sys

from fresco.platform.services import SERVICES, ServiceError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fresco services", description="Run Fresco's local services.")
    parser.add_argument("action", choices=["start", "stop", "status", "download"])
    parser.add_argument("service", nargs="?", choices=sorted(SERVICES), default=None,
                        help="which service (default: all)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds to wait (start: until it answers, default 180 for Cassandra, 120 for Kafka; "
                             "stop: before SIGKILL, default 60)")
    args = parser.parse_args(argv)

    names = [args.service] if args.service else sorted(SERVICES)
    code = 0
    for name in names:
        svc = SERVICES[name]
        try:
            if args.action == "start":
                st = svc.start(**({"timeout": args.timeout} if args.timeout else {}))
            elif args.action == "stop":
                st = svc.stop(**({"timeout": args.timeout} if args.timeout else {}))
            elif args.action == "download":
                print(f"{name}: jars in {svc.ensure_downloaded()}")
                continue
            else:
                st = svc.status()
        except ServiceError as exc:
            print(f"{name}: error: {exc}", file=sys.stderr)
            code = max(code, 1)
            continue
        print(st.describe())
        if args.action == "status" and not (st.running and st.reachable):
            code = max(code, 3)
    return code


if __name__ == "__main__":
    sys.exit(main())

"""`tutor localstack up|down|status` and `tutor env`."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any


def register(sub: Any) -> None:
    ls = sub.add_parser("localstack", help="run a shared background LocalStack",
                        description="A LocalStack that several tutor sessions and your own "
                        "shell share. `tutor env` prints how to reach it.")
    ls_sub = ls.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = ls_sub.add_parser("up", help="start it (port 4566 when free)")
    up.add_argument("--port", type=int, help="port on 127.0.0.1 (default 4566, else free)")
    up.add_argument("--listen", metavar="HOST[:PORT]",
                    help="also serve it on this address of this machine (a classroom)")
    up.add_argument("--classroom", action="store_true",
                    help="opt in to --listen on a non-loopback address: anyone on that "
                    "network can reach it; learners stay apart by learner id")
    up.set_defaults(handler=_up)
    down = ls_sub.add_parser("down", help="stop it")
    down.set_defaults(handler=_down)
    status = ls_sub.add_parser("status", help="is it running, where, how healthy")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)

    env = sub.add_parser("env", help="print export lines that point aws/boto3 at LocalStack",
                         description="Use as: eval \"$(tutor env)\"")
    env.add_argument("--shell", choices=["sh", "fish", "powershell"], default="sh")
    env.set_defaults(handler=_env)


def _up(args: argparse.Namespace) -> int:
    from tutor.cloud.embedded import service_state, service_up

    endpoint = service_up(args.port, progress=lambda line: print(line, file=sys.stderr),
                          listen=args.listen, classroom=args.classroom)
    print(f"LocalStack is up at {endpoint.url}")
    print('Point your shell at it with: eval "$(tutor env)"')
    state = service_state() or {}
    if state.get("classroom_url"):
        print(_classroom_lines(str(state["classroom_url"])))
    return 0


def _classroom_lines(url: str) -> str:
    """What the teacher hands out: one command per learner, and the session exports."""
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or url
    return (f"Classroom: learners reach it at {url}. Each learner runs once:\n"
            f"  tutor --endpoint {url} --allow-host {host} learner set <your-id>\n"
            f"and, in each terminal, before `tutor` or their own code:\n"
            f"  export AWS_ENDPOINT_URL={url} TUTOR_ALLOW_HOSTS={host}; "
            f'eval "$(tutor env)"\n'
            f"Every learner id is its own LocalStack account: nobody sees another's "
            f"queues.\nAnyone on this network can reach it, and learners' Lambda "
            f"functions run as processes on this machine: use it on a classroom "
            f"network only, and stop it with `tutor localstack down` after class.")


def _down(args: argparse.Namespace) -> int:
    from tutor.cloud.embedded import service_down

    if service_down():
        print("LocalStack stopped")
    else:
        print("No background LocalStack was running")
    return 0


def _status(args: argparse.Namespace) -> int:
    from tutor.cloud.embedded import service_state
    from tutor.cloud.health import probe

    state = service_state()
    report: dict[str, Any] = {"running": False}
    if state:
        health = probe(str(state["url"]))
        report = {"running": health.reachable, "url": state["url"], "pid": state["pid"],
                  "log": state["log"], "version": health.version,
                  "missing_services": health.missing() if health.reachable else [],
                  "listen": state.get("listen"), "classroom_url": state.get("classroom_url")}
    if args.json:
        print(json.dumps(report, indent=2))
    elif report["running"]:
        missing = report["missing_services"]
        print(f"running at {report['url']} (pid {report['pid']}, LocalStack "
              f"{report['version']})" + (f"; not ready: {', '.join(missing)}" if missing else ""))
        if report["classroom_url"]:
            print(_classroom_lines(str(report["classroom_url"])))
    else:
        print("not running — start it with `tutor localstack up`")
    return 0 if report["running"] else 1


def _env(args: argparse.Namespace) -> int:
    from tutor.cloud.endpoint import shell_unsets
    from tutor.cloud.health import probe
    from tutor.commands.connect import connect

    endpoint = connect(args)
    if not probe(endpoint.url).reachable:
        print(f"warning: nothing answers at {endpoint.url} yet — start it with "
              "`tutor localstack up`", file=sys.stderr)
    # First what would send the learner's tools elsewhere (a profile, a session token,
    # a per-service endpoint), then what points them at LocalStack.
    for name in shell_unsets():
        if args.shell == "fish":
            print(f"set -e {name};")
        elif args.shell == "powershell":
            print(f"Remove-Item Env:{name} -ErrorAction SilentlyContinue")
        else:
            print(f"unset {name}")
    variables = endpoint.env()
    for name, value in variables.items():
        if args.shell == "fish":
            print(f"set -gx {name} {shlex.quote(value)};")
        elif args.shell == "powershell":
            print(f'$Env:{name} = "{value}"')
        else:
            print(f"export {name}={shlex.quote(value)}")
    return 0

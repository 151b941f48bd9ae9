"""rfctl templates [list|show NAME|path]: saved requests for `generate -T NAME`."""

from __future__ import annotations

HELP = "list saved request templates, show one, print their directory"

DESCRIPTION = """\
A template is a saved request, $XDG_CONFIG_HOME/rfctl/templates/NAME.yaml:
a system prompt, a prompt with {{input}} where generate's input goes,
variables set with -V key=value (with defaults), and default options
(model, temperature, max_tokens, schema, cache_prompt) that command-line
flags override. list (the default): name, description, variables. show NAME:
the file, after checking it. path: the directory."""

ACTIONS = ("list", "show", "path")


def add_parser(sub, parents):
    from rfctl.commands.parser import action_command

    usage = "list (default) | show NAME | path"
    p = action_command(sub, "templates", parents, HELP, DESCRIPTION, run, ACTIONS, usage, "list")
    p.add_argument("name", nargs="?", metavar="NAME", help="template name")


def run(args) -> int:
    import sys

    from rfctl import config, templates
    from rfctl.errors import UsageError

    # config.Paths.templates once Paths has it, else $XDG_CONFIG_HOME/rfctl/templates.
    directory = getattr(config.resolve_paths(args), "templates", None) or templates.default_dir()
    if args.action == "path":
        print(directory)
        return 0
    if args.action == "show":
        if not args.name:
            raise UsageError("'templates show' needs a template NAME")
        t = templates.load(args.name, directory)  # checked: a broken one says why
        if args.format == "json":
            import json

            sys.stdout.write(json.dumps(_row(t, full=True), indent=2, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(t.path.read_text(encoding="utf-8"))
        return 0
    if args.name:
        raise UsageError("'templates list' takes no NAME (use 'templates show NAME')")
    return _list(templates, directory, args)


def _list(templates, directory, args) -> int:
    from rfctl import console
    from rfctl.errors import ConfigError
    from rfctl.table import Column, emit

    rows = []
    for name in templates.names(directory):
        try:
            rows.append(_row(templates.load(name, directory)))
        except ConfigError as e:  # list the rest; say what is wrong with this one
            console.warn(e.message)
            rows.append({"name": name, "description": "(invalid: see the warning)"})
    columns = [
        Column("name", "name"),
        Column("model", "model"),
        Column("variables", "variables"),
        Column("description", "description", elastic=True),
    ]
    emit(rows, columns, args.format, header=not args.no_header, wide=args.wide)
    return 0


def _row(t, full: bool = False) -> dict:
    row = {
        "name": t.name,
        "model": t.options.get("model"),
        "variables": [
            v.name if v.default is None else f"{v.name}={v.default}" for v in t.variables.values()
        ],
        "description": t.description,
    }
    if full:
        row.update(path=str(t.path), system=t.system, prompt=t.prompt, options=t.options)
    return row

"""rfctl config init|show|path."""

from __future__ import annotations

import sys

HELP = "write a starter config, show the effective config, print file paths"


def add_parser(sub, parents):
    p = sub.add_parser("config", parents=parents, help=HELP, description=HELP + ".")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    init = actions.add_parser("init", parents=parents, help="write a starter config file")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument("--stdout", action="store_true", help="print it instead of writing it")
    show = actions.add_parser(
        "show", parents=parents, help="print the effective config (secrets redacted)"
    )
    show.add_argument("--json", action="store_true", help="as JSON instead of TOML")
    actions.add_parser(
        "path", parents=parents, help="print every file and directory rfctl reads or writes"
    )
    p.set_defaults(run=run)


def run(args) -> int:
    from rfctl import config

    paths = config.resolve_paths(args)
    if args.action == "path":
        # Files, then the directories of the response cache, conversations
        # and templates (when the paths know them).
        for name in (
            "config",
            "models",
            "usage_log",
            "state",
            "cache",
            "conversations",
            "templates",
        ):
            where = getattr(paths, name, None)
            if where is not None:
                print(f"{name}\t{where}")
        return 0
    if args.action == "init":
        return _init(paths, args)
    return _show(config.load(paths), args)


def starter() -> dict:
    """The config `init` writes: the zero-config providers, spelled out."""
    from rfctl import config

    d = config.Defaults()
    out: dict = {
        "defaults": {
            "strategy": d.strategy,
            "timeout": d.timeout,
            "deadline": d.deadline,
            "retries": d.retries,
            "max_tokens": d.max_tokens,
        },
        "providers": {},
    }
    for p in config._zero_config_providers():
        table = {"kind": p.kind, "base_url": p.base_url}
        if p.api_key_env:
            table["api_key_env"] = p.api_key_env
        if p.model:
            table["model"] = p.model
        table["priority"] = p.priority
        out["providers"][p.name] = table
    return out


def _init(paths, args) -> int:
    import tomli_w

    from rfctl.atomic import write_file_atomic
    from rfctl.errors import ConfigError

    text = (
        "# rfctl configuration — see `man rfctl` (FILES, and the config keys).\n"
        "# Keys come from the environment (api_key_env); never write them here.\n\n"
        + tomli_w.dumps(starter())
    )
    if args.stdout:
        sys.stdout.write(text)
        return 0
    path = paths.config
    if path.exists() and not args.force:
        raise ConfigError(f"{path} exists; use --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(path, text)
    except OSError as e:
        raise ConfigError(f"cannot write {path}: {e.strerror}") from None
    print(path)
    return 0


def _show(cfg, args) -> int:
    data = effective(cfg)
    if args.json:
        import json

        print(json.dumps(data, indent=2))
    else:
        import tomli_w

        print(f"# effective config (from {cfg.path if cfg.loaded_from_file else 'defaults'})")
        sys.stdout.write(tomli_w.dumps(_drop_none(data)))
    return 0


def effective(cfg) -> dict:
    from dataclasses import asdict

    from rfctl.redact import display_url

    providers = {}
    for p in cfg.providers.values():
        table = asdict(p)
        table.pop("name")
        if table.pop("api_key"):
            table["api_key"] = "[redacted]"
        # Extra headers usually carry credentials; so may a user:password@ URL.
        table["headers"] = {k: "[redacted]" for k in table["headers"]}
        table["base_url"] = display_url(p.base_url)
        table["key"] = p.key_status()
        providers[p.name] = table
    data = {"defaults": asdict(cfg.defaults), "providers": providers}
    if cfg.budget_daily_usd is not None:
        data["budget"] = {"daily_usd": cfg.budget_daily_usd}
    data["state"] = _state_table(cfg.state)
    return data


def _state_table(st) -> dict:
    """Where the router state lives: the backend, never a password."""
    from rfctl.redact import display_url

    if not st.url:
        return {"backend": "file"}
    return {
        "backend": "redis",
        "url": display_url(st.url),
        "password_env": st.password_env,
        "prefix": st.prefix,
        "timeout": st.timeout,
    }


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value

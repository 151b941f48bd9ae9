"""The bash completion script, rendered from the command tree."""

from __future__ import annotations

from rfctl.docs.tree import GENERATED, LOOKUPS, PASS_THROUGH, Command


def sh_quote(s: str) -> str:
    """A word in single quotes, for bash and zsh alike."""
    return "'" + s.replace("'", "'\\''") + "'"


def _kind(values: str | None, choices: list[str]) -> str:
    """A value kind as the bash and fish scripts spell it."""
    if choices:
        return "choices " + " ".join(choices)
    return values or ""


def render_bash(root: Command) -> str:
    spec, kinds = [], []
    for cmd in root.walk():
        key = " ".join(cmd.path)
        opts = [f for o in cmd.options for f in o.flags]
        valued = [f for o in cmd.options if o.takes_value for f in o.flags]
        subs = [c.path[-1] for c in cmd.subcommands]
        spec.append(
            f"    {sh_quote(key)})\n"
            f"        subs={sh_quote(' '.join(subs))}\n"
            f"        opts={sh_quote(' '.join(opts))}\n"
            f"        valued={sh_quote(' '.join(valued))} ;;"
        )
        by_kind: dict[str, list[str]] = {}
        for o in cmd.options:
            k = _kind(o.values, o.choices)
            if o.takes_value and k:
                by_kind.setdefault(k, []).extend(f"{key}|{f}" for f in o.flags)
        if cmd.positionals and not cmd.subcommands:
            p = cmd.positionals[0]  # rfctl's commands take one kind of positional at most
            k = _kind(p.values, p.choices)
            if k:
                by_kind.setdefault(k, []).append(f"{key}|")
        for k, keys in by_kind.items():
            patterns = "|".join(sh_quote(x) for x in keys)
            kinds.append(f"    {patterns})\n        kind={sh_quote(k)} ;;")
    lookups = "\n".join(
        f'    {name}) names=$("${{words[0]}}" "${{pass[@]}}" {" ".join(argv)} 2>/dev/null) ;;'
        for name, argv in LOOKUPS.items()
    )
    pass_through = "|".join(PASS_THROUGH)
    return _BASH.format(
        generated=GENERATED,
        spec="\n".join(spec),
        kinds="\n".join(kinds),
        lookups=lookups,
        pass_through=pass_through,
    )


_BASH = r"""# bash completion for rfctl
# {generated}
#
# Enable it with `source <(rfctl completions bash)` in ~/.bashrc, or install this
# file as rfctl.bash in a bash-completion directory. Needs bash >= 4.3; does not
# need the bash-completion package.

# _rfctl_spec PATH: set subs (subcommands), opts (options) and valued (options
# that take a value) for the command path PATH ("" is rfctl itself).
_rfctl_spec() {{
    case $1 in
{spec}
    *)
        subs='' opts='' valued='' ;;
    esac
}}

# _rfctl_kind PATH OPTION: set kind to what OPTION's value is under PATH (OPTION
# empty: the positional arguments): file, dir, providers, models, "choices ...",
# or empty for free text.
_rfctl_kind() {{
    case "$1|$2" in
{kinds}
    *)
        kind='' ;;
    esac
}}

# _rfctl_words: set words and cword from COMP_WORDS, gluing back what bash split
# at ":" (COMP_WORDBREAKS), so that model names like qwen3:8b stay one word.
_rfctl_words() {{
    local i w rest gap pos=0
    words=() cword=0
    for ((i = 0; i < ${{#COMP_WORDS[@]}}; i++)); do
        w=${{COMP_WORDS[i]}}
        rest=${{COMP_LINE:pos}}
        gap=${{rest%%[![:space:]]*}}
        pos=$((pos + ${{#gap}} + ${{#w}}))
        if ((i > 0 && ${{#gap}} == 0)) && [[ $w == : || ${{words[-1]}} == *: ]]; then
            words[-1]+=$w
        else
            words+=("$w")
        fi
        ((i == COMP_CWORD)) && cword=$((${{#words[@]}} - 1))
    done
}}

# _rfctl_dequote WORD: set REPLY to WORD as the command will see it, for the
# plain cases (one pair of quotes, backslash escapes); the rest stays as typed.
_rfctl_dequote() {{
    REPLY=$1
    case $REPLY in
    \'*\' | \"*\") REPLY=${{REPLY:1:${{#REPLY}}-2}} ;;
    *\\*) REPLY=${{REPLY//\\/}} ;;
    esac
}}

# _rfctl_values KIND: set COMPREPLY to the values of KIND that start with $cur.
_rfctl_values() {{
    local names IFS=$' \t\n'
    case $1 in
    file | dir)
        compopt -o filenames 2>/dev/null
        IFS=$'\n'
        if [[ $1 == dir ]]; then
            COMPREPLY=($(compgen -d -- "$cur"))
        else
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
        return ;;
{lookups}
    choices\ *) names=${{1#choices }} ;;
    *) names='' ;;
    esac
    COMPREPLY=($(compgen -W "$names" -- "$cur"))
}}

_rfctl() {{
    local -a words pass=()
    local REPLY cword cur path='' opt='' eq='' word subs opts valued kind i=1
    _rfctl_words
    cur=${{words[cword]}}
    # Walk the words before the cursor: follow subcommands, skip option values,
    # and note the option whose value is being completed, if any.
    while ((i < cword)); do
        word=${{words[i]}}
        _rfctl_spec "$path"
        case $word in
        -*=*)
            case ${{word%%=*}} in {pass_through}) _rfctl_dequote "$word" && pass+=("$REPLY") ;; esac ;;
        -*)
            if [[ " $valued " == *" $word "* ]]; then
                # bash splits --opt=value at "=": skip the "=" as well.
                [[ ${{words[i+1]}} == = ]] && ((i + 1 < cword)) && ((i++))
                if ((i + 1 == cword)); then
                    opt=$word
                else
                    case $word in {pass_through})
                        _rfctl_dequote "${{words[i+1]}}" && pass+=("$word" "$REPLY") ;;
                    esac
                fi
                ((i++))
            fi ;;
        *)
            [[ " $subs " == *" $word "* ]] && path=${{path:+$path }}$word ;;
        esac
        ((i++))
    done
    [[ $cur == = && -n $opt ]] && cur=''
    _rfctl_spec "$path"
    if [[ -z $opt && $cur == -*=* && " $valued " == *" ${{cur%%=*}} "* ]]; then
        # --opt=value as one word (COMP_WORDBREAKS without "="): complete the value.
        opt=${{cur%%=*}}
        cur=${{cur#*=}}
        eq=$opt=
    fi
    COMPREPLY=()
    if [[ -n $opt ]]; then
        _rfctl_kind "$path" "$opt"
        _rfctl_values "$kind"
    elif [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [[ -n $subs ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    else
        _rfctl_kind "$path" ''
        _rfctl_values "$kind"
    fi
    [[ -n $eq ]] && COMPREPLY=("${{COMPREPLY[@]/#/$eq}}")
    # bash replaces only the text after the last ":"; drop what comes before it.
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local colon=${{cur%"${{cur##*:}}"}}
        COMPREPLY=("${{COMPREPLY[@]#"$colon"}}")
    fi
}}

complete -F _rfctl rfctl
"""

# bash completion for rfctl
# Generated from rfctl's argument parser by `python -m rfctl.commands.completions --write`; do not edit.
#
# Enable it with `source <(rfctl completions bash)` in ~/.bashrc, or install this
# file as rfctl.bash in a bash-completion directory. Needs bash >= 4.3; does not
# need the bash-completion package.

# _rfctl_spec PATH: set subs (subcommands), opts (options) and valued (options
# that take a value) for the command path PATH ("" is rfctl itself).
_rfctl_spec() {
    case $1 in
    '')
        subs='generate providers models usage probe config cache conversations templates completions local'
        opts='-h --help --config --models-file --usage-log --state -v --verbose --version'
        valued='--config --models-file --usage-log --state' ;;
    'generate')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose -m --model -p --provider -s --system -t --temperature --max-tokens --stop --strategy --capability --timeout --deadline --retries --no-fallback --stream --no-stream --format -o --output --jsonl -j --jobs --unordered --resume --rpm --tpm --max-cost --dry-run --no-log -n --no-stdin --max-input --require-complete -a --attach --schema --thinking --reasoning-effort --show-thinking -T --template -V -c --continue --conversation --new-conversation --strict --cache --no-cache --refresh --cache-prompt'
        valued='--config --models-file --usage-log --state -m --model -p --provider -s --system -t --temperature --max-tokens --stop --strategy --capability --timeout --deadline --retries --format -o --output -j --jobs --resume --rpm --tpm --max-cost --max-input -a --attach --schema --thinking --reasoning-effort -T --template -V --conversation --new-conversation --cache-prompt' ;;
    'providers')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose --timeout --no-check --format --json --jsonl --no-header --wide'
        valued='--config --models-file --usage-log --state --timeout --format' ;;
    'models')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose -p --provider --capability --available --names --timeout --no-check --format --json --jsonl --no-header --wide'
        valued='--config --models-file --usage-log --state -p --provider --capability --timeout --format' ;;
    'usage')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose --since --until --provider --model --by --format --no-header --wide --metric --latency --reprice'
        valued='--config --models-file --usage-log --state --since --until --provider --model --by --format --metric' ;;
    'probe')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose --timeout --generate --json --textfile'
        valued='--config --models-file --usage-log --state --timeout --textfile' ;;
    'config')
        subs='init show path'
        opts='-h --help --config --models-file --usage-log --state -v --verbose'
        valued='--config --models-file --usage-log --state' ;;
    'config init')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose --force --stdout'
        valued='--config --models-file --usage-log --state' ;;
    'config show')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose --json'
        valued='--config --models-file --usage-log --state' ;;
    'config path')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose'
        valued='--config --models-file --usage-log --state' ;;
    'cache')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose --format --json --no-header --wide'
        valued='--config --models-file --usage-log --state --format' ;;
    'conversations')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose --format --json --no-header --wide'
        valued='--config --models-file --usage-log --state --format' ;;
    'templates')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose --format --json --no-header --wide'
        valued='--config --models-file --usage-log --state --format' ;;
    'completions')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose'
        valued='--config --models-file --usage-log --state' ;;
    'local')
        subs='status stop'
        opts='-h --help --config --models-file --usage-log --state -v --verbose'
        valued='--config --models-file --usage-log --state' ;;
    'local status')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose --format --json --no-header --wide'
        valued='--config --models-file --usage-log --state --format' ;;
    'local stop')
        subs=''
        opts='-h --help --config --models-file --usage-log --state -v --verbose'
        valued='--config --models-file --usage-log --state' ;;
    *)
        subs='' opts='' valued='' ;;
    esac
}

# _rfctl_kind PATH OPTION: set kind to what OPTION's value is under PATH (OPTION
# empty: the positional arguments): file, dir, providers, models, "choices ...",
# or empty for free text.
_rfctl_kind() {
    case "$1|$2" in
    '|--config'|'|--models-file'|'|--usage-log'|'|--state')
        kind='file' ;;
    'generate|--config'|'generate|--models-file'|'generate|--usage-log'|'generate|--state'|'generate|-o'|'generate|--output'|'generate|--resume'|'generate|-a'|'generate|--attach'|'generate|--schema')
        kind='file' ;;
    'generate|-m'|'generate|--model')
        kind='models' ;;
    'generate|-p'|'generate|--provider')
        kind='providers' ;;
    'generate|--strategy')
        kind='choices priority round-robin cost latency' ;;
    'generate|--capability')
        kind='choices chat code reasoning vision' ;;
    'generate|--format')
        kind='choices text json' ;;
    'generate|--reasoning-effort')
        kind='choices low medium high' ;;
    'generate|-T'|'generate|--template')
        kind='templates' ;;
    'generate|--cache-prompt')
        kind='choices 5m 1h' ;;
    'providers|--config'|'providers|--models-file'|'providers|--usage-log'|'providers|--state')
        kind='file' ;;
    'providers|--format')
        kind='choices table tsv json jsonl' ;;
    'providers|')
        kind='providers' ;;
    'models|--config'|'models|--models-file'|'models|--usage-log'|'models|--state')
        kind='file' ;;
    'models|-p'|'models|--provider')
        kind='providers' ;;
    'models|--capability')
        kind='choices chat code reasoning vision' ;;
    'models|--format')
        kind='choices table tsv json jsonl' ;;
    'usage|--config'|'usage|--models-file'|'usage|--usage-log'|'usage|--state'|'usage|')
        kind='file' ;;
    'usage|--provider')
        kind='providers' ;;
    'usage|--model')
        kind='models' ;;
    'usage|--format')
        kind='choices table tsv json csv prometheus' ;;
    'usage|--metric')
        kind='choices cost requests tokens' ;;
    'probe|--config'|'probe|--models-file'|'probe|--usage-log'|'probe|--state'|'probe|--textfile')
        kind='file' ;;
    'probe|')
        kind='providers' ;;
    'config|--config'|'config|--models-file'|'config|--usage-log'|'config|--state')
        kind='file' ;;
    'config init|--config'|'config init|--models-file'|'config init|--usage-log'|'config init|--state')
        kind='file' ;;
    'config show|--config'|'config show|--models-file'|'config show|--usage-log'|'config show|--state')
        kind='file' ;;
    'config path|--config'|'config path|--models-file'|'config path|--usage-log'|'config path|--state')
        kind='file' ;;
    'cache|--config'|'cache|--models-file'|'cache|--usage-log'|'cache|--state')
        kind='file' ;;
    'cache|--format')
        kind='choices table tsv json' ;;
    'cache|')
        kind='choices stats prune clear' ;;
    'conversations|--config'|'conversations|--models-file'|'conversations|--usage-log'|'conversations|--state')
        kind='file' ;;
    'conversations|--format')
        kind='choices table tsv json' ;;
    'conversations|')
        kind='choices list show rm path' ;;
    'templates|--config'|'templates|--models-file'|'templates|--usage-log'|'templates|--state')
        kind='file' ;;
    'templates|--format')
        kind='choices table tsv json' ;;
    'templates|')
        kind='choices list show path' ;;
    'completions|--config'|'completions|--models-file'|'completions|--usage-log'|'completions|--state')
        kind='file' ;;
    'completions|')
        kind='choices bash zsh fish' ;;
    'local|--config'|'local|--models-file'|'local|--usage-log'|'local|--state')
        kind='file' ;;
    'local status|--config'|'local status|--models-file'|'local status|--usage-log'|'local status|--state')
        kind='file' ;;
    'local status|--format')
        kind='choices table tsv json' ;;
    'local status|')
        kind='providers' ;;
    'local stop|--config'|'local stop|--models-file'|'local stop|--usage-log'|'local stop|--state')
        kind='file' ;;
    'local stop|')
        kind='providers' ;;
    *)
        kind='' ;;
    esac
}

# _rfctl_words: set words and cword from COMP_WORDS, gluing back what bash split
# at ":" (COMP_WORDBREAKS), so that model names like qwen3:8b stay one word.
_rfctl_words() {
    local i w rest gap pos=0
    words=() cword=0
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        w=${COMP_WORDS[i]}
        rest=${COMP_LINE:pos}
        gap=${rest%%[![:space:]]*}
        pos=$((pos + ${#gap} + ${#w}))
        if ((i > 0 && ${#gap} == 0)) && [[ $w == : || ${words[-1]} == *: ]]; then
            words[-1]+=$w
        else
            words+=("$w")
        fi
        ((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
    done
}

# _rfctl_dequote WORD: set REPLY to WORD as the command will see it, for the
# plain cases (one pair of quotes, backslash escapes); the rest stays as typed.
_rfctl_dequote() {
    REPLY=$1
    case $REPLY in
    \'*\' | \"*\") REPLY=${REPLY:1:${#REPLY}-2} ;;
    *\\*) REPLY=${REPLY//\\/} ;;
    esac
}

# _rfctl_values KIND: set COMPREPLY to the values of KIND that start with $cur.
_rfctl_values() {
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
    providers) names=$("${words[0]}" "${pass[@]}" completions --list providers 2>/dev/null) ;;
    models) names=$("${words[0]}" "${pass[@]}" models --names 2>/dev/null) ;;
    templates) names=$("${words[0]}" "${pass[@]}" completions --list templates 2>/dev/null) ;;
    choices\ *) names=${1#choices } ;;
    *) names='' ;;
    esac
    COMPREPLY=($(compgen -W "$names" -- "$cur"))
}

_rfctl() {
    local -a words pass=()
    local REPLY cword cur path='' opt='' eq='' word subs opts valued kind i=1
    _rfctl_words
    cur=${words[cword]}
    # Walk the words before the cursor: follow subcommands, skip option values,
    # and note the option whose value is being completed, if any.
    while ((i < cword)); do
        word=${words[i]}
        _rfctl_spec "$path"
        case $word in
        -*=*)
            case ${word%%=*} in --config|--models-file) _rfctl_dequote "$word" && pass+=("$REPLY") ;; esac ;;
        -*)
            if [[ " $valued " == *" $word "* ]]; then
                # bash splits --opt=value at "=": skip the "=" as well.
                [[ ${words[i+1]} == = ]] && ((i + 1 < cword)) && ((i++))
                if ((i + 1 == cword)); then
                    opt=$word
                else
                    case $word in --config|--models-file)
                        _rfctl_dequote "${words[i+1]}" && pass+=("$word" "$REPLY") ;;
                    esac
                fi
                ((i++))
            fi ;;
        *)
            [[ " $subs " == *" $word "* ]] && path=${path:+$path }$word ;;
        esac
        ((i++))
    done
    [[ $cur == = && -n $opt ]] && cur=''
    _rfctl_spec "$path"
    if [[ -z $opt && $cur == -*=* && " $valued " == *" ${cur%%=*} "* ]]; then
        # --opt=value as one word (COMP_WORDBREAKS without "="): complete the value.
        opt=${cur%%=*}
        cur=${cur#*=}
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
    [[ -n $eq ]] && COMPREPLY=("${COMPREPLY[@]/#/$eq}")
    # bash replaces only the text after the last ":"; drop what comes before it.
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local colon=${cur%"${cur##*:}"}
        COMPREPLY=("${COMPREPLY[@]#"$colon"}")
    fi
}

complete -F _rfctl rfctl

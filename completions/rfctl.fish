# fish completion for rfctl
# Generated from rfctl's argument parser by `python -m rfctl.commands.completions --write`; do not edit.
#
# Enable it by putting this file, named rfctl.fish, in ~/.config/fish/completions/,
# or with `rfctl completions fish | source`.

# The subcommands and the options taking a value, of the command path $argv[1].
function __rfctl_subs
    switch $argv[1]
        case ''
            printf '%s\n' generate providers models usage probe config cache conversations templates completions local
        case 'config'
            printf '%s\n' init show path
        case 'local'
            printf '%s\n' status stop
    end
end

function __rfctl_valued
    switch $argv[1]
        case ''
            printf '%s\n' --config --models-file --usage-log --state
        case 'generate'
            printf '%s\n' --config --models-file --usage-log --state -m --model -p --provider -s --system -t --temperature --max-tokens --stop --strategy --capability --timeout --deadline --retries --format -o --output -j --jobs --resume --rpm --tpm --max-cost --max-input -a --attach --schema --thinking --reasoning-effort -T --template -V --conversation --new-conversation --cache-prompt
        case 'providers'
            printf '%s\n' --config --models-file --usage-log --state --timeout --format
        case 'models'
            printf '%s\n' --config --models-file --usage-log --state -p --provider --capability --timeout --format
        case 'usage'
            printf '%s\n' --config --models-file --usage-log --state --since --until --provider --model --by --format --metric
        case 'probe'
            printf '%s\n' --config --models-file --usage-log --state --timeout --textfile
        case 'config'
            printf '%s\n' --config --models-file --usage-log --state
        case 'config init'
            printf '%s\n' --config --models-file --usage-log --state
        case 'config show'
            printf '%s\n' --config --models-file --usage-log --state
        case 'config path'
            printf '%s\n' --config --models-file --usage-log --state
        case 'cache'
            printf '%s\n' --config --models-file --usage-log --state --format
        case 'conversations'
            printf '%s\n' --config --models-file --usage-log --state --format
        case 'templates'
            printf '%s\n' --config --models-file --usage-log --state --format
        case 'completions'
            printf '%s\n' --config --models-file --usage-log --state
        case 'local'
            printf '%s\n' --config --models-file --usage-log --state
        case 'local status'
            printf '%s\n' --config --models-file --usage-log --state --format
        case 'local stop'
            printf '%s\n' --config --models-file --usage-log --state
    end
end

# The command path on the line so far ("" for rfctl itself, "config init", ...).
function __rfctl_path
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l path
    while set -q tokens[1]
        set -l tok $tokens[1]
        set -e tokens[1]
        switch $tok
            case '-*=*'
            case '-*'
                if contains -- $tok (__rfctl_valued "$path")
                    set -e tokens[1]
                end
            case '*'
                if contains -- $tok (__rfctl_subs "$path")
                    set path $path $tok
                end
        end
    end
    echo "$path"
end

function __rfctl_at
    set -l path (__rfctl_path)
    test "$path" = "$argv[1]"
end

# Provider or model names, from the files the command line names.
function __rfctl_names
    set -l tokens (commandline -opc)
    set -l pass
    for i in (seq 2 (count $tokens))
        switch $tokens[$i]
            case --config --models-file
                set -a pass $tokens[$i] $tokens[(math $i + 1)]
            case '--config=*' '--models-file=*'
                set -a pass $tokens[$i]
        end
    end
    switch $argv[1]
        case providers
            $tokens[1] $pass completions --list providers 2>/dev/null
        case models
            $tokens[1] $pass models --names 2>/dev/null
        case templates
            $tokens[1] $pass completions --list templates 2>/dev/null
    end
end

complete -c rfctl -f
complete -c rfctl -n '__rfctl_at ""' -a 'generate' -d 'send a prompt (arguments and/or stdin) and print the answer'
complete -c rfctl -n '__rfctl_at ""' -a 'providers' -d 'list configured providers: key, reachability, latency, cooldown, models'
complete -c rfctl -n '__rfctl_at ""' -a 'models' -d 'list models: registry (context, capabilities, prices) and live availability'
complete -c rfctl -n '__rfctl_at ""' -a 'usage' -d 'aggregate the usage log: requests, errors, tokens, cost, latency'
complete -c rfctl -n '__rfctl_at ""' -a 'probe' -d 'health check for monitoring: exit 0 ok, 1 some down, 2 all down, 3 unknown'
complete -c rfctl -n '__rfctl_at ""' -a 'config' -d 'write a starter config, show the effective config, print file paths'
complete -c rfctl -n '__rfctl_at ""' -a 'cache' -d 'response cache: show its size, prune it, clear it'
complete -c rfctl -n '__rfctl_at ""' -a 'conversations' -d 'list stored conversations, print one\'s transcript'
complete -c rfctl -n '__rfctl_at ""' -a 'templates' -d 'list saved request templates, show one, print their directory'
complete -c rfctl -n '__rfctl_at ""' -a 'completions' -d 'print the shell completion script for bash, zsh or fish'
complete -c rfctl -n '__rfctl_at ""' -a 'local' -d 'show or stop the llama-server rfctl runs for local providers'
complete -c rfctl -n '__rfctl_at ""' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at ""' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at ""' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at ""' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at ""' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at ""' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at ""' -l version -d 'show program\'s version number and exit'

# rfctl generate
complete -c rfctl -n '__rfctl_at "generate"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "generate"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "generate"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "generate"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "generate"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "generate"' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at "generate"' -s m -l model -x -a '(__rfctl_names models)' -d 'model name or alias (picks providers that serve it)'
complete -c rfctl -n '__rfctl_at "generate"' -s p -l provider -x -a '(__rfctl_names providers)' -d 'use this provider; repeat for an explicit fallback chain'
complete -c rfctl -n '__rfctl_at "generate"' -s s -l system -x -d 'system prompt'
complete -c rfctl -n '__rfctl_at "generate"' -s t -l temperature -x -d 'sampling temperature'
complete -c rfctl -n '__rfctl_at "generate"' -l max-tokens -x -d 'most output tokens'
complete -c rfctl -n '__rfctl_at "generate"' -l stop -x -d 'stop sequence (repeatable)'
complete -c rfctl -n '__rfctl_at "generate"' -l strategy -x -a 'priority round-robin cost latency' -d 'how to order candidate providers (default: from config)'
complete -c rfctl -n '__rfctl_at "generate"' -l capability -x -a 'chat code reasoning vision' -d 'only models with this capability'
complete -c rfctl -n '__rfctl_at "generate"' -l timeout -x -d 'bound on one attempt'
complete -c rfctl -n '__rfctl_at "generate"' -l deadline -x -d 'bound on the whole call, retries and fallbacks included'
complete -c rfctl -n '__rfctl_at "generate"' -l retries -x -d 'retries per provider'
complete -c rfctl -n '__rfctl_at "generate"' -l no-fallback -d 'stop after the first provider'
complete -c rfctl -n '__rfctl_at "generate"' -l stream -d 'write text as it arrives (default on a terminal)'
complete -c rfctl -n '__rfctl_at "generate"' -l no-stream -d 'write the answer once complete (default into pipes and files)'
complete -c rfctl -n '__rfctl_at "generate"' -l format -x -a 'text json' -d 'text (default) or one JSON object with usage and attempts'
complete -c rfctl -n '__rfctl_at "generate"' -s o -l output -r -F -d 'write the answer to FILE atomically (no file on failure)'
complete -c rfctl -n '__rfctl_at "generate"' -l jsonl -d 'batch: one request per stdin line, one JSON result per output line'
complete -c rfctl -n '__rfctl_at "generate"' -s j -l jobs -x -d 'with --jsonl: requests in flight at once (default 1)'
complete -c rfctl -n '__rfctl_at "generate"' -l unordered -d 'with --jsonl: write each result as it finishes (each carries its id)'
complete -c rfctl -n '__rfctl_at "generate"' -l resume -r -F -d 'with --jsonl: skip ids with a successful result in FILE (may be the -o file)'
complete -c rfctl -n '__rfctl_at "generate"' -l rpm -x -d 'at most N requests per minute per provider'
complete -c rfctl -n '__rfctl_at "generate"' -l tpm -x -d 'at most N estimated tokens per minute per provider'
complete -c rfctl -n '__rfctl_at "generate"' -l max-cost -x -d 'refuse (exit 77) if the estimated cost is higher'
complete -c rfctl -n '__rfctl_at "generate"' -l dry-run -d 'print the plan and estimates, send nothing'
complete -c rfctl -n '__rfctl_at "generate"' -l no-log -d 'do not write the usage log'
complete -c rfctl -n '__rfctl_at "generate"' -s n -l no-stdin -d 'do not read stdin: the prompt is the arguments (for `while read` loops)'
complete -c rfctl -n '__rfctl_at "generate"' -l max-input -x -d 'largest prompt read, in bytes or with K/M/G (default 16M); past it exit 65'
complete -c rfctl -n '__rfctl_at "generate"' -l require-complete -d 'an empty answer or one cut at max_tokens is exit 65, with nothing written'
complete -c rfctl -n '__rfctl_at "generate"' -s a -l attach -r -F -d 'attach an image (PNG, JPEG, GIF, WebP) or a PDF (repeatable; - reads it from stdin, and the prompt then comes from the arguments only)'
complete -c rfctl -n '__rfctl_at "generate"' -l schema -r -F -d 'answer with a JSON document valid against this JSON Schema (a file, or inline JSON); an answer that does not validate is a failed attempt'
complete -c rfctl -n '__rfctl_at "generate"' -l thinking -x -d 'let the model reason, with this many tokens on top of --max-tokens (models without capability reasoning are skipped)'
complete -c rfctl -n '__rfctl_at "generate"' -l reasoning-effort -x -a 'low medium high' -d 'let the model reason this hard (models without capability reasoning are skipped)'
complete -c rfctl -n '__rfctl_at "generate"' -l show-thinking -d 'write the model\'s reasoning to stderr (it never goes to stdout)'
complete -c rfctl -n '__rfctl_at "generate"' -s T -l template -x -a '(__rfctl_names templates)' -d 'use the saved request NAME (see \'rfctl templates\')'
complete -c rfctl -n '__rfctl_at "generate"' -s V -x -d 'set a template variable (repeatable)'
complete -c rfctl -n '__rfctl_at "generate"' -s c -l continue -d 'continue the most recent conversation (starts one when there is none)'
complete -c rfctl -n '__rfctl_at "generate"' -l conversation -x -d 'continue the conversation ID'
complete -c rfctl -n '__rfctl_at "generate"' -l new-conversation -x -d 'start a conversation named NAME, or with a fresh id (put the prompt after --)'
complete -c rfctl -n '__rfctl_at "generate"' -l strict -d 'exit 65 instead of leaving out the oldest turns that do not fit the context window'
complete -c rfctl -n '__rfctl_at "generate"' -l cache -d 'answer from the response cache when the same request was answered before'
complete -c rfctl -n '__rfctl_at "generate"' -l no-cache -d 'do not use the response cache ([cache] enabled)'
complete -c rfctl -n '__rfctl_at "generate"' -l refresh -d 'ask again and replace the cached answer'
complete -c rfctl -n '__rfctl_at "generate"' -l cache-prompt -x -a '5m 1h' -d 'Anthropic prompt caching of the system prompt and history: 5m (default) or 1h'

# rfctl providers
complete -c rfctl -n '__rfctl_at "providers"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "providers"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "providers"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "providers"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "providers"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "providers"' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at "providers"' -l timeout -x -d 'bound on all the checks together (default 5)'
complete -c rfctl -n '__rfctl_at "providers"' -l no-check -d 'do not contact the providers (configuration and cooldowns only)'
complete -c rfctl -n '__rfctl_at "providers"' -l format -x -a 'table tsv json jsonl' -d 'output shape (default: table on a terminal, tsv otherwise)'
complete -c rfctl -n '__rfctl_at "providers"' -l json -d 'JSON: the listing as one document (same as --format json)'
complete -c rfctl -n '__rfctl_at "providers"' -l jsonl -d 'one JSON object per line (same as --format jsonl)'
complete -c rfctl -n '__rfctl_at "providers"' -l no-header -d 'tsv: leave out the header line'
complete -c rfctl -n '__rfctl_at "providers"' -l wide -d 'table: every column, nothing cut (default: the main columns, fitted to the terminal)'
complete -c rfctl -n '__rfctl_at "providers"' -a '(__rfctl_names providers)'

# rfctl models
complete -c rfctl -n '__rfctl_at "models"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "models"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "models"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "models"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "models"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "models"' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at "models"' -s p -l provider -x -a '(__rfctl_names providers)' -d 'only models of this provider (repeatable)'
complete -c rfctl -n '__rfctl_at "models"' -l capability -x -a 'chat code reasoning vision' -d 'only models with this capability (repeatable: all of them)'
complete -c rfctl -n '__rfctl_at "models"' -l available -d 'only models available now'
complete -c rfctl -n '__rfctl_at "models"' -l names -d 'print bare model names, one per line (registry only unless --provider or --available asks for live data)'
complete -c rfctl -n '__rfctl_at "models"' -l timeout -x -d 'bound on listing all providers (default 5)'
complete -c rfctl -n '__rfctl_at "models"' -l no-check -d 'do not contact the providers (availability unknown)'
complete -c rfctl -n '__rfctl_at "models"' -l format -x -a 'table tsv json jsonl' -d 'output shape (default: table on a terminal, tsv otherwise)'
complete -c rfctl -n '__rfctl_at "models"' -l json -d 'JSON: the listing as one document (same as --format json)'
complete -c rfctl -n '__rfctl_at "models"' -l jsonl -d 'one JSON object per line (same as --format jsonl)'
complete -c rfctl -n '__rfctl_at "models"' -l no-header -d 'tsv: leave out the header line'
complete -c rfctl -n '__rfctl_at "models"' -l wide -d 'table: every column, nothing cut (default: the main columns, fitted to the terminal)'

# rfctl usage
complete -c rfctl -n '__rfctl_at "usage"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "usage"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "usage"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "usage"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "usage"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "usage"' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at "usage"' -l since -x -d 'only records at or after WHEN (24h, 7d, 2026-11-29)'
complete -c rfctl -n '__rfctl_at "usage"' -l until -x -d 'only records before WHEN'
complete -c rfctl -n '__rfctl_at "usage"' -l provider -x -a '(__rfctl_names providers)' -d 'only these providers (repeatable or comma-separated)'
complete -c rfctl -n '__rfctl_at "usage"' -l model -x -a '(__rfctl_names models)' -d 'only these models (repeatable or comma-separated)'
complete -c rfctl -n '__rfctl_at "usage"' -l by -x -d 'group by provider|model|day|hour|status (repeatable or comma-separated, e.g. --by provider,model)'
complete -c rfctl -n '__rfctl_at "usage"' -l format -x -a 'table tsv json csv prometheus' -d 'output format (default: table on a terminal, tsv otherwise)'
complete -c rfctl -n '__rfctl_at "usage"' -l no-header -d 'tsv/csv: leave out the header line'
complete -c rfctl -n '__rfctl_at "usage"' -l wide -d 'table: every column, nothing cut (default: the main columns, fitted to the terminal)'
complete -c rfctl -n '__rfctl_at "usage"' -l metric -x -a 'cost requests tokens' -d 'table: draw a bar per group of this (default cost; bars are drawn with --by day or hour, or whenever --metric is given)'
complete -c rfctl -n '__rfctl_at "usage"' -l latency -d 'latency histogram per provider (or per --by group) with p50/p95 marked; tsv/csv/json: bucket counts'
complete -c rfctl -n '__rfctl_at "usage"' -l reprice -d 'recompute each record\'s cost from its tokens at current price data (the price valid at its time); the log is not changed'
complete -c rfctl -n '__rfctl_at "usage"' -F

# rfctl probe
complete -c rfctl -n '__rfctl_at "probe"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "probe"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "probe"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "probe"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "probe"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "probe"' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at "probe"' -l timeout -x -d 'bound on each probe; they run in parallel (default 10)'
complete -c rfctl -n '__rfctl_at "probe"' -l generate -d 'ask each provider for a one-token answer instead of a health check'
complete -c rfctl -n '__rfctl_at "probe"' -l json -d 'one JSON object on stdout'
complete -c rfctl -n '__rfctl_at "probe"' -l textfile -r -F -d 'also write Prometheus text to PATH atomically (node_exporter)'
complete -c rfctl -n '__rfctl_at "probe"' -a '(__rfctl_names providers)'

# rfctl config
complete -c rfctl -n '__rfctl_at "config"' -a 'init' -d 'write a starter config file'
complete -c rfctl -n '__rfctl_at "config"' -a 'show' -d 'print the effective config (secrets redacted)'
complete -c rfctl -n '__rfctl_at "config"' -a 'path' -d 'print every file and directory rfctl reads or writes'
complete -c rfctl -n '__rfctl_at "config"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "config"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "config"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "config"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "config"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "config"' -s v -l verbose -d 'more detail on stderr (repeatable)'

# rfctl config init
complete -c rfctl -n '__rfctl_at "config init"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "config init"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "config init"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "config init"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "config init"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "config init"' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at "config init"' -l force -d 'overwrite an existing file'
complete -c rfctl -n '__rfctl_at "config init"' -l stdout -d 'print it instead of writing it'

# rfctl config show
complete -c rfctl -n '__rfctl_at "config show"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "config show"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "config show"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "config show"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "config show"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "config show"' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at "config show"' -l json -d 'as JSON instead of TOML'

# rfctl config path
complete -c rfctl -n '__rfctl_at "config path"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "config path"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "config path"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "config path"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "config path"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "config path"' -s v -l verbose -d 'more detail on stderr (repeatable)'

# rfctl cache
complete -c rfctl -n '__rfctl_at "cache"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "cache"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "cache"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "cache"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "cache"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "cache"' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at "cache"' -l format -x -a 'table tsv json' -d 'output shape (default: table on a terminal, tsv otherwise)'
complete -c rfctl -n '__rfctl_at "cache"' -l json -d 'JSON: the listing as one document (same as --format json)'
complete -c rfctl -n '__rfctl_at "cache"' -l no-header -d 'tsv: leave out the header line'
complete -c rfctl -n '__rfctl_at "cache"' -l wide -d 'table: every column, nothing cut (default: the main columns, fitted to the terminal)'
complete -c rfctl -n '__rfctl_at "cache"' -a 'stats prune clear'

# rfctl conversations
complete -c rfctl -n '__rfctl_at "conversations"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "conversations"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "conversations"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "conversations"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "conversations"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "conversations"' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at "conversations"' -l format -x -a 'table tsv json' -d 'output shape (default: table on a terminal, tsv otherwise)'
complete -c rfctl -n '__rfctl_at "conversations"' -l json -d 'JSON: the listing as one document (same as --format json)'
complete -c rfctl -n '__rfctl_at "conversations"' -l no-header -d 'tsv: leave out the header line'
complete -c rfctl -n '__rfctl_at "conversations"' -l wide -d 'table: every column, nothing cut (default: the main columns, fitted to the terminal)'
complete -c rfctl -n '__rfctl_at "conversations"' -a 'list show rm path'

# rfctl templates
complete -c rfctl -n '__rfctl_at "templates"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "templates"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "templates"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "templates"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "templates"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "templates"' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at "templates"' -l format -x -a 'table tsv json' -d 'output shape (default: table on a terminal, tsv otherwise)'
complete -c rfctl -n '__rfctl_at "templates"' -l json -d 'JSON: the listing as one document (same as --format json)'
complete -c rfctl -n '__rfctl_at "templates"' -l no-header -d 'tsv: leave out the header line'
complete -c rfctl -n '__rfctl_at "templates"' -l wide -d 'table: every column, nothing cut (default: the main columns, fitted to the terminal)'
complete -c rfctl -n '__rfctl_at "templates"' -a 'list show path'

# rfctl completions
complete -c rfctl -n '__rfctl_at "completions"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "completions"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "completions"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "completions"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "completions"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "completions"' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at "completions"' -a 'bash zsh fish'

# rfctl local
complete -c rfctl -n '__rfctl_at "local"' -a 'status' -d 'show the managed servers'
complete -c rfctl -n '__rfctl_at "local"' -a 'stop' -d 'stop the managed servers now'
complete -c rfctl -n '__rfctl_at "local"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "local"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "local"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "local"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "local"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "local"' -s v -l verbose -d 'more detail on stderr (repeatable)'

# rfctl local status
complete -c rfctl -n '__rfctl_at "local status"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "local status"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "local status"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "local status"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "local status"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "local status"' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at "local status"' -l format -x -a 'table tsv json' -d 'output shape (default: table on a terminal, tsv otherwise)'
complete -c rfctl -n '__rfctl_at "local status"' -l json -d 'JSON: the listing as one document (same as --format json)'
complete -c rfctl -n '__rfctl_at "local status"' -l no-header -d 'tsv: leave out the header line'
complete -c rfctl -n '__rfctl_at "local status"' -l wide -d 'table: every column, nothing cut (default: the main columns, fitted to the terminal)'
complete -c rfctl -n '__rfctl_at "local status"' -a '(__rfctl_names providers)'

# rfctl local stop
complete -c rfctl -n '__rfctl_at "local stop"' -s h -l help -d 'show this help message and exit'
complete -c rfctl -n '__rfctl_at "local stop"' -l config -r -F -d 'config file (env RFCTL_CONFIG)'
complete -c rfctl -n '__rfctl_at "local stop"' -l models-file -r -F -d 'user model registry merged over the shipped one (env RFCTL_MODELS)'
complete -c rfctl -n '__rfctl_at "local stop"' -l usage-log -r -F -d 'usage log (env RFCTL_USAGE_LOG)'
complete -c rfctl -n '__rfctl_at "local stop"' -l state -r -F -d 'router state: cooldowns, round-robin cursor, rate buckets, budget reservations (env RFCTL_STATE)'
complete -c rfctl -n '__rfctl_at "local stop"' -s v -l verbose -d 'more detail on stderr (repeatable)'
complete -c rfctl -n '__rfctl_at "local stop"' -a '(__rfctl_names providers)'

# SPDX-License-Identifier: GPL-2.0-only
# fish completion for kmod-watch. The options come from `kmod-watch --help`
# itself (as the bash and zsh completions do), so completion can never
# disagree with the program; the values of the options that take one are
# completed here.

function __kmod_watch_options
    command kmod-watch --help 2>/dev/null | string match -r -a -- '--[a-z][a-z0-9-]*' | sort -u
end

# true when the subcommand (the first word after kmod-watch) is $argv[1]
function __kmod_watch_using
    set -l words (commandline -opc)
    test (count $words) -ge 2; and test "$words[2]" = "$argv[1]"
end

# true when the word before the cursor is one of $argv
function __kmod_watch_after
    set -l words (commandline -opc)
    contains -- "$words[-1]" $argv
end

set -l __kmod_watch_valued --arch --target --release --accel --color --kernel --initrd --identity --config --junit --ktap --kcidb --kcidb-origin --password-file --kdir --share --kernel-root --kernel-release --connect --expect --timeout --boot-timeout --load-timeout --param --run --debounce --include --exclude -j --jobs --memory --tag --ssh --cross-compile --socket --make --gdb --cpus --append --qemu-opt --repeat --kcidb-origin --ktap --kcidb

complete -c kmod-watch -f
# options, from --help
complete -c kmod-watch -n 'string match -q -- "-*" (commandline -ct)' -a '(__kmod_watch_options)'
# the subcommand first, then DIR (files for inject-agent, a verb for kit)
complete -c kmod-watch -n 'test (count (commandline -opc)) -eq 1; and not string match -q -- "-*" (commandline -ct)' -a 'doctor kit inject-agent qemu-args shell' -d subcommand
complete -c kmod-watch -n "not string match -q -- '-*' (commandline -ct); and not __kmod_watch_after $__kmod_watch_valued; and not __kmod_watch_using kit; and not __kmod_watch_using inject-agent" -a '(__fish_complete_directories (commandline -ct))'
complete -c kmod-watch -n '__kmod_watch_using kit; and test (count (commandline -opc)) -eq 2' -a 'fetch path list'
complete -c kmod-watch -n '__kmod_watch_using inject-agent; and not string match -q -- "-*" (commandline -ct)' -F
# option values
complete -c kmod-watch -n '__kmod_watch_after --arch' -a 'x86_64 arm64'
complete -c kmod-watch -n '__kmod_watch_after --target' -a 'x86_64 arm64 x86_64/ arm64/'
complete -c kmod-watch -n '__kmod_watch_after --accel' -a 'auto kvm tcg'
# --release: the releases of the cached kits (any release apt offers works)
function __kmod_watch_releases
    set -l c $XDG_CACHE_HOME
    string match -q -- '/*' "$c"; or set c $HOME/.cache
    for d in $c/kmod-watch/kits/*/*
        set -l n (path basename -- $d)
        string match -q -r -- '^current$|\.tmp\.' $n; or echo $n
    end | sort -u
end
complete -c kmod-watch -n '__kmod_watch_after --release' -a '(__kmod_watch_releases)'
complete -c kmod-watch -n '__kmod_watch_after --color' -a 'auto always never'
complete -c kmod-watch -n '__kmod_watch_after --connect' -a 'unix:'
complete -c kmod-watch -n '__kmod_watch_after --kernel --initrd --identity --config --junit --ktap --kcidb --password-file' -F
complete -c kmod-watch -n '__kmod_watch_after --kdir --share --kernel-root' -a '(__fish_complete_directories (commandline -ct))'
# the releases in --kernel-root's lib/modules (else the host's)
function __kmod_watch_root_releases
    set -l words (commandline -opc)
    set -l root
    set -l i (contains -i -- --kernel-root $words); and set root $words[(math $i + 1)]
    for d in $root/lib/modules/*/
        basename $d
    end
end
complete -c kmod-watch -n '__kmod_watch_after --kernel-release' -a '(__kmod_watch_root_releases)'

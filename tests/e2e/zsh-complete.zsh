# SPDX-License-Identifier: GPL-2.0-only
# zsh-complete.zsh LINE — prints the candidates zsh's completion system offers for LINE
# (one a line; "message:TEXT" for a _message), by typing LINE and a Tab into an
# interactive zsh under zpty with compadd wrapped. KW_COMP_DIR: where _kmod-watch is.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z 'PROMPT=; fpath=($KW_COMP_DIR $fpath); autoload -U compinit; compinit -u'
zpty -w z 'compadd () { builtin compadd -O __hits "$@"; print -l -- "<hit>"${^__hits} ; builtin compadd "$@" }'
zpty -w z '_message () { print -- "<message>$*" }'
zpty -w z 'bindkey "^I" complete-word; print -- "<ready>"'
zpty -r z line '*<ready>*'
zpty -w -n z "$1"$'\t'
zpty -w -n z $'\C-u'
zpty -w z 'print -- "<""done>"'
while zpty -r z line; do
  [[ $line == *'<done>'* ]] && break
  [[ $line == *'<hit>'* ]] && print -r -- ${${line##*<hit>}%%$'\r'*}
  [[ $line == *'<message>'* ]] && print -r -- message:${${line##*<message>}%%$'\r'*}
done
zpty -d z

# bash completion for moat(1): options, commands, and jail names asked from the running moatd.
# shellcheck shell=bash

_moat_jails() {
  # "Jail list:   sshd, nginx-http-auth" from `moat status`; nothing if moatd is not running
  local sock=() w
  for ((w = 1; w < ${#COMP_WORDS[@]} - 1; w++)); do
    case "${COMP_WORDS[w]}" in
      -s | --socket) sock=(-s "${COMP_WORDS[w + 1]}") ;;
    esac
  done
  moat "${sock[@]}" --timeout 2 status 2>/dev/null |
    sed -n 's/.*Jail list:[[:space:]]*//p' | tr -s ', ' '\n\n'
}

_moat() {
  local cur prev words cword
  if declare -F _init_completion >/dev/null; then
    _init_completion || return
  else
    cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
  fi

  local opts='-c --conf -s --socket -p --pidfile --loglevel --logtarget --syslogsocket -d --dp
    --dump-pretty -t --test -i -v -q -x -f -b --timeout --str2sec --json -h --help -V --version'
  local commands='start restart reload stop unban banned status ping echo help version set get
    flushlogs add watch regex console'
  local regex_opts='-c --config -d --datepattern --timezone --TZ -e --encoding -r --raw --usedns
    -L --maxlines -m --journalmatch --now --journal-lines --no-check-all -o --out
    --print-all-matched --print-all-missed --print-all-ignored --print-no-missed
    --print-no-ignored -v --verbose --json -V --version -h --help'

  case "$prev" in
    -c | --conf | --config) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")); return ;;
    -s | --socket | -p | --pidfile) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --loglevel) COMPREPLY=($(compgen -W 'CRITICAL ERROR WARNING NOTICE INFO DEBUG TRACEDEBUG HEAVYDEBUG' -- "$cur")); return ;;
    --logtarget) COMPREPLY=($(compgen -W 'STDOUT STDERR SYSLOG SYSTEMD-JOURNAL' -- "$cur")); return ;;
    --usedns) COMPREPLY=($(compgen -W 'yes warn no raw' -- "$cur")); return ;;
    --timeout | --str2sec | --syslogsocket) return ;;
  esac

  # find the command: the first word that is not an option (or an option's value)
  local i cmd='' cmdi=0
  for ((i = 1; i < cword; i++)); do
    case "${words[i]}" in
      -c | --conf | -s | --socket | -p | --pidfile | --loglevel | --logtarget | --syslogsocket | --timeout | --str2sec) ((i++)) ;;
      -*) ;;
      *) cmd=${words[i]} cmdi=$i; break ;;
    esac
  done

  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else COMPREPLY=($(compgen -W "$commands" -- "$cur")); fi
    return
  fi

  local n=$((cword - cmdi)) # position after the command word
  case "$cmd" in
    regex)
      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$regex_opts" -- "$cur"))
      else compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); fi ;;
    status | start | stop)
      ((n == 1)) && COMPREPLY=($(compgen -W "$(_moat_jails)" -- "$cur")) ;;
    reload | restart)
      COMPREPLY=($(compgen -W "--restart --unban --if-exists --all $(_moat_jails)" -- "$cur")) ;;
    unban) ((n == 1)) && COMPREPLY=($(compgen -W '--all' -- "$cur")) ;;
    set)
      if ((n == 1)); then
        COMPREPLY=($(compgen -W "loglevel logtarget syslogsocket dbfile dbmaxmatches dbpurgeage $(_moat_jails)" -- "$cur"))
      elif ((n == 2)); then
        case "${words[cmdi + 1]}" in
          loglevel) COMPREPLY=($(compgen -W 'CRITICAL ERROR WARNING NOTICE INFO DEBUG TRACEDEBUG HEAVYDEBUG' -- "$cur")) ;;
          logtarget) COMPREPLY=($(compgen -W 'STDOUT STDERR SYSLOG SYSTEMD-JOURNAL' -- "$cur")) ;;
          *) COMPREPLY=($(compgen -W 'idle ignoreself addignoreip delignoreip ignorecommand ignorecache
               addlogpath dellogpath logencoding addjournalmatch deljournalmatch addfailregex delfailregex
               addignoreregex delignoreregex findtime bantime datepattern usedns attempt banip unbanip
               maxretry maxmatches maxlines addaction delaction action' -- "$cur")) ;;
        esac
      fi ;;
    get)
      if ((n == 1)); then
        COMPREPLY=($(compgen -W "loglevel logtarget syslogsocket dbfile dbmaxmatches dbpurgeage $(_moat_jails)" -- "$cur"))
      elif ((n == 2)); then
        COMPREPLY=($(compgen -W 'banned logpath logencoding journalmatch ignoreself ignoreip ignorecommand
             failregex ignoreregex findtime bantime datepattern usedns banip maxretry maxmatches maxlines
             actions actionproperties actionmethods action' -- "$cur"))
      fi ;;
    watch) COMPREPLY=($(compgen -W 'type= jail=' -- "$cur")); compopt -o nospace 2>/dev/null ;;
  esac
}

complete -F _moat moat

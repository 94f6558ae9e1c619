# bash completion for tcpsocket(1); installed as share/bash-completion/completions/tcpsocket.
_tcpsocket() {
  local cur prev command i
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  command=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      listen | -l) command=listen; break ;;
      connect) command=connect; break ;;
    esac
  done
  case $prev in
    --mode) COMPREPLY=($(compgen -W "echo discard chat stdio" -- "$cur")); return ;;
    --tls-cert | --tls-key | --tls-client-ca | --manifest | --ca | --cert | --key)
      COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --exec | -e) COMPREPLY=($(compgen -c -- "$cur")); return ;;
    --host | --port | -p | --backlog | --max-connections | --idle-timeout | --workers | \
      --threads | --chat-budget | --timeout | -w | --servername | --source | -s | --alpn | --pin | \
      --proxy-trusted | --metrics)
      return ;;  # a value of the user's
  esac
  case $command in
    listen)
      COMPREPLY=($(compgen -W "--host --port --backlog --mode --exec --max-connections
        --idle-timeout --workers --threads --chat-budget --tls-cert --tls-key --tls-client-ca
        --alpn --proxy-protocol --proxy-trusted --systemd --metrics
        --manifest --source --verbose --help" -- "$cur")) ;;
    connect)
      COMPREPLY=($(compgen -W "--timeout --source --tls --ca --servername --cert --key --alpn
        --pin --dangerously-accept-any-certificate --manifest --verbose --help" -- "$cur")) ;;
    *)
      COMPREPLY=($(compgen -W "listen connect --help --version" -- "$cur")) ;;
  esac
}
complete -F _tcpsocket tcpsocket

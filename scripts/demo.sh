#!/usr/bin/env bash
# moat demo: no root needed. Installs and builds moat if needed, copies moat's own config/
# into a temp dir with a jail.local that points the sshd jail at a generated attack log and
# uses the dummy action (no firewall is touched), starts moatd on it, writes attacks, and
# opens the console (or prints status when no terminal is attached). Ctrl-C / q stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/src/bin/moatd.js ] || npm run build

demo=$(mktemp -d /tmp/moat-demo.XXXXXX)
cp -r config "$demo/conf"
rm -f "$demo/conf/jail.d/"*.conf 2>/dev/null || true
cat > "$demo/conf/jail.local" <<EOT
[DEFAULT]
banaction = dummy[target=$demo/bans.txt]
banaction_allports = dummy[target=$demo/bans.txt]
bantime = 2m
findtime = 10m
maxretry = 3
ignoreself = false

[sshd]
enabled = true
backend = auto
logpath = $demo/auth.log
EOT
: > "$demo/auth.log"
sock="$demo/moat.sock"
node dist/src/bin/moatd.js -f -c "$demo/conf" -s "$sock" -p "$demo/moatd.pid" \
  --dbfile "$demo/moat.sqlite3" --logtarget "$demo/moat.log" &
daemon=$!
writer=""
cleanup() {
  [ -n "$writer" ] && kill "$writer" 2>/dev/null || true
  kill "$daemon" 2>/dev/null || true
  wait "$daemon" 2>/dev/null || true
  echo "demo files kept in $demo"
}
# cleanup once: a signal exits, and the exit runs it
trap cleanup EXIT
trap 'exit 130' INT TERM
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

# attackers: a few addresses failing passwords, one legitimate user
(
  n=0
  while true; do
    n=$((n + 1))
    ip="203.0.113.$(( (n % 7) + 10 ))"
    ts=$(date '+%b %e %H:%M:%S')
    echo "$ts demo sshd[$((4000 + n))]: Failed password for invalid user admin$n from $ip port $((40000 + n)) ssh2" >> "$demo/auth.log"
    if [ $((n % 5)) -eq 0 ]; then
      # her own connection (pid): a login in a session that had failures of other users counts as one (fail2ban sshd)
      echo "$ts demo sshd[$((9000 + n))]: Accepted publickey for alice from 198.51.100.2 port 50000 ssh2" >> "$demo/auth.log"
    fi
    sleep 1
  done
) &
writer=$!

if [ -t 1 ] && [ -f dist/src/console/index.js ]; then
  node dist/src/bin/moat.js -s "$sock" console
else
  for _ in $(seq 15); do
    sleep 2
    if [ -t 1 ]; then clear; fi
    node dist/src/bin/moat.js -s "$sock" status sshd
    echo; tail -n 5 "$demo/moat.log"
  done
fi

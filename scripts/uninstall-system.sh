#!/bin/sh
# Removes what install-system.sh installed, as listed in its manifest. Configuration files
# you changed (and any file not installed by it, such as *.local) stay in /etc/moat; the
# database in /var/lib/moat stays unless --purge is given. Same environment variables as
# install-system.sh (DESTDIR, PREFIX, SYSCONFDIR, LOCALSTATEDIR).
set -eu

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
SYSCONFDIR=${SYSCONFDIR:-/etc}
LOCALSTATEDIR=${LOCALSTATEDIR:-/var}
MANIFEST=$PREFIX/share/moat/install-manifest
purge=no
case "${1:-}" in
  --purge) purge=yes ;;
  '') ;;
  *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac

if [ ! -f "$DESTDIR$MANIFEST" ]; then
  echo "uninstall-system.sh: no manifest at $DESTDIR$MANIFEST: nothing installed" >&2
  exit 1
fi

if [ -z "$DESTDIR" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now moat.service moat.socket 2>/dev/null || true
fi

kept=''
while IFS="$(printf '\t')" read -r sum kind path; do
  target=$DESTDIR$path
  [ -e "$target" ] || continue
  case "$kind" in
    user) kept="$kept $path"; continue ;;
    config)
      if [ "$(sha256sum "$target" | cut -d' ' -f1)" != "$sum" ]; then
        kept="$kept $path"
        continue
      fi ;;
  esac
  rm -f "$target"
done <"$DESTDIR$MANIFEST"
rm -f "$DESTDIR$MANIFEST"

# drop the directories the install created, where they are now empty
for dir in "$SYSCONFDIR/moat" "$PREFIX/share/moat"; do
  [ -d "$DESTDIR$dir" ] && find "$DESTDIR$dir" -depth -type d -empty -delete
done
if [ "$purge" = yes ]; then
  rm -rf "$DESTDIR$LOCALSTATEDIR/lib/moat"
fi

if [ -z "$DESTDIR" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
echo "moat uninstalled${DESTDIR:+ from $DESTDIR}."
for f in $kept; do echo "kept your changed $f"; done

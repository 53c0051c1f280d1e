#!/bin/sh
# Installs moat's system parts: systemd units, tmpfiles.d entry, /etc/moat (from config/),
# /var/lib/moat, bin wrappers, man pages and bash completion. Run it from the package
# (a checkout or the npm-installed copy); the programs themselves stay in the package.
#
# Configuration is never clobbered: a shipped file you changed stays as it is and the new
# version is written next to it as FILE.dist; *.local files are never overwritten. What was
# installed is recorded in $PREFIX/share/moat/install-manifest for uninstall-system.sh.
#
# paths-distro.conf is written for this system: the paths-<distro>.conf that /etc/os-release
# names (ID, then ID_LIKE; see the comment in config/paths-distro.conf).
#
# Environment: DESTDIR (stage into another root, e.g. for packaging or tests), PREFIX (/usr),
# SYSCONFDIR (/etc), LOCALSTATEDIR (/var), UNITDIR ($PREFIX/lib/systemd/system),
# OS_RELEASE (the os-release file to read; default $DESTDIR/etc/os-release, else /etc/os-release).
set -eu

PKG=$(cd "$(dirname "$0")/.." && pwd)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
SYSCONFDIR=${SYSCONFDIR:-/etc}
LOCALSTATEDIR=${LOCALSTATEDIR:-/var}
BINDIR=${BINDIR:-$PREFIX/bin}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
TMPFILESDIR=${TMPFILESDIR:-$PREFIX/lib/tmpfiles.d}
MANDIR=${MANDIR:-$PREFIX/share/man}
COMPLETIONDIR=${COMPLETIONDIR:-$PREFIX/share/bash-completion/completions}
DATADIR=$PREFIX/share/moat
CONFDIR=$SYSCONFDIR/moat
MANIFEST=$DATADIR/install-manifest
WRAPPER_MARK='# installed by moat install-system.sh'

umask 022
new_manifest=$(mktemp)
trap 'rm -f "$new_manifest"' EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }

# record KIND PATH: PATH (without DESTDIR) belongs to this install; sha of what we put there
record() { printf '%s\t%s\t%s\n' "$(sha "$DESTDIR$2")" "$1" "$2" >>"$new_manifest"; }

# the sha this path had when the previous install wrote it (empty if none)
previous_sha() {
  [ -f "$DESTDIR$MANIFEST" ] || return 0
  awk -F '\t' -v p="$1" '$3 == p { print $1 }' "$DESTDIR$MANIFEST"
}

put() { # put KIND SRC DEST MODE
  install -D -m "$4" "$2" "$DESTDIR$3"
  record "$1" "$3"
}

# --- configuration ------------------------------------------------------------------------
# distro_of OS_RELEASE: debian | fedora | arch | opensuse, from ID then each word of ID_LIKE
distro_of() {
  ids=$( (. "$1" 2>/dev/null && echo "${ID:-} ${ID_LIKE:-}") || true)
  for id in $ids; do
    case "$id" in
      debian | ubuntu | linuxmint | raspbian | pop) echo debian; return ;;
      fedora | rhel | centos | rocky | almalinux | amzn | ol) echo fedora; return ;;
      arch | manjaro | endeavouros) echo arch; return ;;
      opensuse* | suse | sles) echo opensuse; return ;;
    esac
  done
  echo debian
}
os_release=${OS_RELEASE:-}
if [ -z "$os_release" ]; then
  if [ -f "$DESTDIR/etc/os-release" ]; then os_release=$DESTDIR/etc/os-release; else os_release=/etc/os-release; fi
fi
distro=$(distro_of "$os_release")
configsrc=$(mktemp -d)
trap 'rm -f "$new_manifest"; rm -rf "$configsrc"' EXIT
cp -R "$PKG/config/." "$configsrc/"
sed "s|^before = paths-[a-z]*\.conf\$|before = paths-$distro.conf|" "$PKG/config/paths-distro.conf" >"$configsrc/paths-distro.conf"
sed "s|^moat_confpath = .*|moat_confpath = $CONFDIR|" "$PKG/config/paths-common.conf" >"$configsrc/paths-common.conf"
echo "paths: paths-$distro.conf (from $os_release)"

kept=''
install -d -m 0755 "$DESTDIR$CONFDIR"
for src in $(cd "$configsrc" && find . -type f | sed 's|^\./||' | sort); do
  dest=$CONFDIR/$src
  if [ ! -e "$DESTDIR$dest" ]; then
    put config "$configsrc/$src" "$dest" 0644
  elif cmp -s "$configsrc/$src" "$DESTDIR$dest"; then
    record config "$dest"
  else
    case "$src" in
      *.local) continue ;;  # the user's own file, whatever it holds
    esac
    if [ "$(sha "$DESTDIR$dest")" = "$(previous_sha "$dest")" ]; then
      put config "$configsrc/$src" "$dest" 0644  # unchanged since we wrote it: update
    else
      # changed by the user: keep it, ship the new version beside it
      install -m 0644 "$configsrc/$src" "$DESTDIR$dest.dist"
      record config "$dest.dist"
      printf '%s\tuser\t%s\n' "$(sha "$configsrc/$src")" "$dest" >>"$new_manifest"
      kept="$kept $dest"
    fi
  fi
done

# --- state and runtime directories -------------------------------------------------------
install -d -m 0750 "$DESTDIR$LOCALSTATEDIR/lib/moat"
tmpfiles=$(mktemp)
cat >"$tmpfiles" <<TMPFILES
# moat: runtime and state directories (see moatd(8))
d /run/moat 0750 root root -
d $LOCALSTATEDIR/lib/moat 0750 root root -
TMPFILES
put file "$tmpfiles" "$TMPFILESDIR/moat.conf" 0644
rm -f "$tmpfiles"

# --- programs ----------------------------------------------------------------------------
for prog in moat moatd; do
  dest=$BINDIR/$prog
  if [ -e "$DESTDIR$dest" ] || [ -L "$DESTDIR$dest" ]; then
    # npm install -g may already have put its own link here: leave anything not ours
    grep -qF "$WRAPPER_MARK" "$DESTDIR$dest" 2>/dev/null || { echo "keeping existing $dest"; continue; }
  fi
  wrapper=$(mktemp)
  cat >"$wrapper" <<WRAPPER
#!/bin/sh
$WRAPPER_MARK
pkg='$PKG'
if [ -f "\$pkg/dist/src/bin/$prog.js" ]; then
  exec node "\$pkg/dist/src/bin/$prog.js" "\$@"
fi
exec node --import "file://\$pkg/node_modules/tsx/dist/loader.mjs" "\$pkg/src/bin/$prog.ts" "\$@"
WRAPPER
  put bin "$wrapper" "$dest" 0755
  rm -f "$wrapper"
done

# --- systemd units -----------------------------------------------------------------------
for unit in moat.service moat.socket; do
  tmp=$(mktemp)
  sed -e "s|/usr/bin/moatd|$BINDIR/moatd|g" -e "s|/etc/moat|$CONFDIR|g" "$PKG/units/$unit" >"$tmp"
  put file "$tmp" "$UNITDIR/$unit" 0644
  rm -f "$tmp"
done

# --- documentation and completion --------------------------------------------------------
for page in "$PKG"/man/*.[0-9]; do
  name=$(basename "$page")
  put file "$page" "$MANDIR/man${name##*.}/$name" 0644
done
put file "$PKG/completion/moat.bash" "$COMPLETIONDIR/moat" 0644

# --- manifest ----------------------------------------------------------------------------
install -d -m 0755 "$DESTDIR$DATADIR"
install -m 0644 "$new_manifest" "$DESTDIR$MANIFEST"

if [ -z "$DESTDIR" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemd-tmpfiles --create "$TMPFILESDIR/moat.conf" || true
  systemctl daemon-reload || true
fi

echo "moat installed${DESTDIR:+ into $DESTDIR}."
for f in $kept; do echo "kept your $f; the shipped version is $f.dist"; done
[ -n "$DESTDIR" ] || echo "Enable it with: systemctl enable --now moat.service"

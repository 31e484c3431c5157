#!/usr/bin/env bash
# package.sh: build the Debian package facilityd_<version>_<arch>.deb into dist/ (make package).
#
#   scripts/package.sh                 version from git describe, architecture from go env GOARCH
#   VERSION=1.2.0 scripts/package.sh   a version of your choosing (the package tests build two)
#   OUT=/tmp/debs GOARCH=arm64 scripts/package.sh
#
# It prints the path of the package it built. dpkg-deb --root-owner-group (Debian's own tool)
# builds it: every file is root's in the archive without fakeroot, and postinst gives
# /var/lib/facilityd and the configuration's group to the facilityd user it creates.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${OUT:-$root/dist}

log() { printf 'package.sh: %s\n' "$*" >&2; }

# deb_version turns git describe into a Debian version (deb-version(5): digits first, no
# hyphen in a native package): v1.2.0 -> 1.2.0, v1.2.0-3-gabc123-dirty -> 1.2.0+3.gabc123.dirty,
# and a tree without tags, abc123 -> 0~git.abc123 (sorts before any release).
deb_version() {
	local d=$1
	if [[ $d =~ ^v?[0-9]+\.[0-9] ]]; then
		d=${d#v}
		d=${d/-/+}
		printf '%s\n' "${d//-/.}"
	else
		printf '0~git.%s\n' "${d//-/.}"
	fi
}

# deb_arch maps Go's architecture onto Debian's (dpkg-architecture -L).
deb_arch() {
	case $1 in
	amd64 | arm64 | riscv64 | ppc64le | s390x) echo "$1" ;;
	386) echo i386 ;;
	arm) echo armhf ;;
	*)
		log "GOARCH $1 has no Debian architecture here: add it to deb_arch"
		return 1
		;;
	esac
}

version=${VERSION:-$(deb_version "$(git describe --tags --always --dirty)")}
commit=$(git rev-parse HEAD)
built=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%dT%H:%M:%SZ)
goarch=${GOARCH:-$(go env GOARCH)}
arch=$(deb_arch "$goarch")

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

pkg=github.com/facilityd/facilityd/internal/version
log "building facilityd $version ($commit) for $arch"
mkdir -p "$stage/usr/bin"
CGO_ENABLED=0 GOOS=linux GOARCH=$goarch go build -trimpath \
	-ldflags "-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit -X $pkg.Date=$built" \
	-o "$stage/usr/bin/" ./cmd/facilityd ./cmd/facsim

# The configuration is a conffile (deploy/debian/conffiles); postinst makes it root:facilityd.
install -D -m 0640 deploy/facilityd.yaml "$stage/etc/facilityd/facilityd.yaml"
install -D -m 0644 deploy/systemd/facilityd.service "$stage/lib/systemd/system/facilityd.service"

doc=$stage/usr/share/doc/facilityd
install -d -m 0755 "$doc"
install -m 0644 deploy/debian/copyright "$doc/copyright"
# Debian policy 12.7: a native package's changelog is changelog.gz, compressed with gzip -9n.
{
	printf 'facilityd (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n' "$version" "$commit"
	printf ' -- facilityd maintainers <facilityd@example.org>  %s\n\n' "$(date -u -R -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")"
	cat deploy/debian/changelog
} | gzip -9n >"$doc/changelog.gz"
for f in operations configuration; do
	gzip -9n <"docs/$f.md" >"$doc/$f.md.gz"
	chmod 0644 "$doc/$f.md.gz"
done
chmod 0644 "$doc/changelog.gz"

install -d -m 0755 "$stage/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
	deploy/debian/control >"$stage/DEBIAN/control"
install -m 0644 deploy/debian/conffiles "$stage/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 "deploy/debian/$s" "$stage/DEBIAN/$s"
done
find "$stage" -type d -exec chmod 0755 {} +

mkdir -p "$out"
deb=$out/facilityd_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
log "built $deb"
printf '%s\n' "$deb"

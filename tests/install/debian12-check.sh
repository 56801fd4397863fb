#!/usr/bin/env bash
# debian12-check.sh SRC — the package on a fresh Debian 12: a minimal
# bookworm root made by debootstrap (minbase: nothing of ours, no build
# tools), the .deb installed in it with apt (which fetches what Depends
# names), then, chrooted, from / and with no source or build tree in
# reach: vhost-conform --version and every replay case against the
# packaged vhost-refnet.  Needs root, debootstrap and a Debian mirror
# ($VHC_DEBIAN_MIRROR, default deb.debian.org); exit 77 (CTest: skipped)
# with the reason when one is missing.  Takes minutes (label long).
set -euo pipefail
src=$(realpath "$1")
mirror=${VHC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
((EUID == 0)) || skip "debootstrap and chroot need root"
command -v debootstrap >/dev/null || skip "no debootstrap (apt-get install debootstrap)"

work=$(mktemp -d "${TMPDIR:-/tmp}/vhcdeb12.XXXXXX")
root=$work/root
mounted=()
cleanup() {
    local m
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        m=${mounted[i]}
        umount -R "$m" 2>/dev/null || umount -R -l "$m" 2>/dev/null || true
    done
    # never follow a mount that is still there (the host's /dev, /proc)
    if grep -q "^$root/" <<<"$(findmnt -rno TARGET)"; then
        echo "debian12-check: $root still has mounts, left in place" >&2
    else
        rm -rf --one-file-system "$work"
    fi
}
trap cleanup EXIT
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
                LANG=C.UTF-8 TMPDIR=/tmp DEBIAN_FRONTEND=noninteractive "$@"; }

t0=$SECONDS
deb=$("$(dirname "$0")/build-deb.sh" "$src" "$work")
t_build=$((SECONDS - t0))

t0=$SECONDS
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap bookworm from $mirror"; }
t_root=$((SECONDS - t0))
grep -qx '12\.[0-9]*' "$root/etc/debian_version" || fail "not Debian 12: $(cat "$root/etc/debian_version")"

# what a running system has: /proc, /dev (memfds, eventfds, /dev/shm), DNS
for m in proc dev; do
    case $m in
    proc) mount -t proc proc "$root/proc" ;;
    dev) mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" ;;
    esac
    mounted+=("$root/$m")
done
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
pkg=/tmp/$(basename "$deb")

t0=$SECONDS
in_root dpkg-query -W vhost-refnet vhost-conform >/dev/null 2>&1 && fail "the fresh root has ours"
in_root apt-get update -qq > "$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get update"; }
in_root apt-get install -y -qq --no-install-recommends "$pkg" >> "$work/apt.log" 2>&1 ||
    { tail -30 "$work/apt.log" >&2; fail "apt-get install $pkg"; }
t_install=$((SECONDS - t0))
echo "Depends: $(dpkg-deb -f "$deb" Depends)"
grep -q '^Status: install ok installed' <<<"$(in_root dpkg -s vhost-conform)" || fail "not installed"
for tool in cmake gcc; do   # a fresh system: no build tree could help
    in_root sh -c "command -v $tool" >/dev/null && fail "$tool is in the fresh root"
done

# from /, nothing set: the binary finds its fixtures and vhost-refnet itself
t0=$SECONDS
v=$(in_root sh -c 'cd / && vhost-conform --version') || fail "--version"
echo "$v"
version=$(sed -nE 's/^project\(vhost-conform VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt")
grep -qE "^vhost-conform $version \(commit [0-9a-f]{7,}(-dirty)?\)$" <<<"$v" || fail "--version: $v"
rc=0
in_root sh -c "cd / && vhost-conform run --filter 'replay/*'" > "$work/replay.tap" \
    2> "$work/replay.err" || rc=$?
t_run=$((SECONDS - t0))
cat "$work/replay.tap"
((rc == 0)) || { cat "$work/replay.err" >&2; fail "run --filter 'replay/*' exited $rc"; }
grep -qx '# backend: /usr/bin/vhost-refnet --socket {socket} --queues 2' "$work/replay.tap" ||
    fail "not the packaged vhost-refnet: $(grep '^# backend' "$work/replay.tap")"
ran=$(grep -cE '^(not )?ok [0-9]+ - replay/' "$work/replay.tap")
[[ $ran == "$(in_root vhost-conform list 'replay/*' | wc -l)" ]] || fail "$ran replay cases ran"
grep -q '^not ok' "$work/replay.tap" && fail "a replay case failed"
skipped=$(grep -cE '^ok [0-9]+ - replay/.* # SKIP' "$work/replay.tap" || true)
# only the blk and fs traces may skip (the packaged vhost-refnet is a net device)
other=$(grep -E '^ok [0-9]+ - replay/.* # SKIP' "$work/replay.tap" |
        grep -vc '# SKIP trace is for a vhost-user-' || true)
((other == 0)) || fail "$other replay cases skipped for another reason"
passed=$((ran - skipped))
((passed >= 10)) || fail "only $passed replay cases passed"
echo "debian12: $(cat "$root/etc/debian_version"), $(basename "$deb") installed by apt;" \
     "replay: $ran cases, $passed passed, $skipped skipped (blk/fs traces);" \
     "build ${t_build}s, debootstrap ${t_root}s, apt ${t_install}s, run ${t_run}s"

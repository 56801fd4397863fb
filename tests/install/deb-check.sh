#!/usr/bin/env bash
# deb-check.sh SRC — the Debian package, built and used as a user would:
# a release build (no sanitizers, no tests: what a package ships), cpack -G
# DEB, the package's metadata and contents checked, unpacked with dpkg -x
# into a temporary root, and the unpacked vhost-conform run from another
# directory, with the source and build trees out of its reach, against the
# unpacked vhost-refnet: every replay case, a bundled expectations list by
# name, a trace by name, the man pages and the completion.
set -euo pipefail
src=$(realpath "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/vhcdeb.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
deb=$("$(dirname "$0")/build-deb.sh" "$src" "$work")

# metadata: the project's version, run-time libraries found by shlibdeps
version=$(sed -nE 's/^project\(vhost-conform VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt")
[[ $(dpkg-deb -f "$deb" Package) == vhost-conform ]] || fail "package name"
[[ $(dpkg-deb -f "$deb" Version) == "$version" ]] || fail "version $(dpkg-deb -f "$deb" Version)"
deps=$(dpkg-deb -f "$deb" Depends)
grep -q 'libc6' <<<"$deps" || fail "Depends has no libc6: $deps"
grep -qE 'libasan|libubsan' <<<"$deps" && fail "a release package depends on sanitizers: $deps"
grep -q 'vhost-user' <<<"$(dpkg-deb -f "$deb" Description)" || fail "no description"

# contents: binaries, fixtures, one man page per help page, completion
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' > "$work/contents"
for f in /usr/bin/vhost-conform /usr/bin/vhost-refnet \
         /usr/share/bash-completion/completions/vhost-conform \
         /usr/share/vhost-conform/fixtures/qemu-7.2/b1_boot.log \
         /usr/share/vhost-conform/fixtures/qemu-7.2/b1_boot.raw \
         /usr/share/vhost-conform/fixtures/profiles/qemu-8.2.profile \
         /usr/share/vhost-conform/fixtures/expectations/dpdk-22.11.txt \
         /usr/share/doc/vhost-conform/README.md; do
    grep -qx "$f" "$work/contents" || fail "the package lacks $f"
done
n_traces=$(ls "$src"/fixtures/qemu-7.2/*.raw | wc -l)
[[ $(grep -c '^/usr/share/vhost-conform/fixtures/qemu-7.2/.*\.raw$' "$work/contents") == "$n_traces" ]] ||
    fail "not every QEMU 7.2 trace is packaged"
mkdir "$work/man"
"$work/build/harness/vhost-conform" help --man-dir "$work/man"
want=$(cd "$work/man" && ls | sed 's|$|.gz|' | sort)
got=$(sed -n 's|^/usr/share/man/man1/||p' "$work/contents" | grep . | sort)
[[ $want == "$got" ]] || fail "man pages: packaged $(tr '\n' ' ' <<<"$got"), help has $(tr '\n' ' ' <<<"$want")"

# unpacked where no build or source tree is, run from elsewhere
root=$work/root
dpkg -x "$deb" "$root"
mv "$work/build" "$work/build.gone"   # nothing may come from the build tree
elsewhere=$(mktemp -d "$work/cwd.XXXXXX")
cd "$elsewhere"
vc=$root/usr/bin/vhost-conform
export PATH=/usr/bin:/bin   # and no vhost-refnet on PATH: the one beside it
unset VHC_FIXTURES
grep -qE "^vhost-conform $version \(commit ([0-9a-f]{7,}(-dirty)?|unknown)\)$" \
    <<<"$("$vc" --version)" ||
    fail "--version: $("$vc" --version)"
rc=0
"$vc" run --filter 'replay/*' > replay.tap 2> replay.err || rc=$?
cat replay.tap
((rc == 0)) || { cat replay.err; fail "the installed replay cases exited $rc"; }
grep -qx "# backend: $root/usr/bin/vhost-refnet --socket {socket} --queues 2" replay.tap ||
    fail "not the packaged vhost-refnet: $(grep '^# backend' replay.tap)"
ran=$(grep -cE '^ok [0-9]+ - replay/' replay.tap)
passed=$(grep -E '^ok [0-9]+ - replay/' replay.tap | grep -vc '# SKIP')
[[ $ran == "$("$vc" list 'replay/*' | wc -l)" ]] || fail "$ran replay cases ran"
grep -q '^not ok' replay.tap && fail "a replay case failed"
# the blk and fs traces skip against a net back end; every net trace passes
((passed == ran - $(grep -c '# SKIP trace is for a vhost-user-' replay.tap))) || fail "skips"
((passed >= 10)) || fail "only $passed replay cases passed"
grep -qx PASS <<<"$("$vc" replay qemu-7.2/a1_init_client --quiet)" || fail "replay by name"
"$vc" run --expect dpdk-22.11 --list-only > /dev/null 2> expect.err || fail "--expect NAME"
[[ ! -s expect.err ]] || fail "--expect dpdk-22.11: $(cat expect.err)"
page=$(LC_ALL=C MANWIDTH=100 man -l "$root/usr/share/man/man1/vhost-conform-run.1.gz" 2>/dev/null |
       col -bx)   # read whole: grep -q on a pipe would cut it short (SIGPIPE)
grep -q -- '--backend' <<<"$page" || fail "the run man page does not render"
out=$(bash -c "source '$root/usr/share/bash-completion/completions/vhost-conform'
    PATH=$root/usr/bin:\$PATH; COMP_WORDS=(vhost-conform run --prof); COMP_CWORD=2
    _vhost_conform; echo \"\${COMPREPLY[@]}\"")
grep -qw -- '--profile' <<<"$out" || fail "completion: $out"
echo "deb: $(basename "$deb"), $ran replay cases ($passed passed) from $root"

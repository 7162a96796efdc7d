#!/usr/bin/env bash
# VM test (from the host, booting guests): a picture of a real incident. scripts/reproduce --timeline
# (the hog on CPU 2 of 4 under the storm) writes the dump, the trace and
# the image; tools/timeline's analysis is the module's (its `stops` lines
# are the guest's, word for word); the trace parses as JSON and has the
# structure Perfetto needs (scripts/tests/check-trace.py); headless
# Chromium renders the SVG to a PNG that has something drawn; a bad dump
# and a bad option are refused.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
SW_HOST=1 . "$root/scripts/guest/lib.sh"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
set +e
"$root/scripts/reproduce" --cpus 4 --hog-cpu 2 --thresh 1 --hog-seconds 6 --touch-ms 100 \
	--period-ms 1000 --timeline "$dir/tl" --log "$dir/console" >"$dir/out" 2>&1
rc=$?
set -e
tail -n 5 "$dir/out"
check "reproduce --timeline exits 0 (reproduced and diagnosed)" test "$rc" = 0
for f in dump.txt dmesg.txt trace.json timeline.svg stops.txt; do
	check "it wrote $f" test -s "$dir/tl/$f"
done

# The guest's `stops` view, and the tool's lines from the dump.
awk '/^=== /{ on = ($2 == "stops"); next } on' "$dir/console" | tr -d '\r' | grep '^stop=' >"$dir/guest-stops" || true
check "the tool's analysis is the module's: its stops lines are the guest's" \
	sh -c "test -s '$dir/guest-stops' && diff '$dir/guest-stops' '$dir/tl/stops.txt'"

# checks OUT ARGS...: runs check-trace.py ARGS into OUT and passes its
# `ok - ` / `not ok - ` lines on as cases.
checks() {
	local out=$1
	shift
	set +e
	python3 "$root/scripts/tests/check-trace.py" "$@" >"$out" 2>&1
	set -e
	while read -r line; do
		case "$line" in
		"ok - "*) echo "STOPWATCH-TEST $line" ;;
		"not ok - "*) echo "STOPWATCH-TEST $line"; SW_FAILED=1 ;;
		esac
	done <"$out"
}

# Python's json parser, then the structure.
checks "$dir/trace-checks" trace "$dir/tl/trace.json" 2 0,1,3
check "the trace parses as JSON (python3 json)" grep -q '^ok - trace: slices' "$dir/trace-checks"

# The image, as a browser draws it.
height=$(sed -n 's/^<svg .* height="\([0-9]*\)[".].*/\1/p' "$dir/tl/timeline.svg" | head -n1)
check "the SVG says its size" test -n "$height"
check "the SVG names the culprit CPU 2" grep -q 'CPU 2 held it up' "$dir/tl/timeline.svg"
if command -v chromium >/dev/null; then
	timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--window-size="1400,${height:-500}" --screenshot="$dir/timeline.png" \
		"file://$dir/tl/timeline.svg" >"$dir/chromium.log" 2>&1 || true
	check "headless Chromium renders the SVG to a PNG" test -s "$dir/timeline.png"
	checks "$dir/png-checks" png "$dir/timeline.png" 1400 300 20000
	check "the PNG was checked" grep -q '^ok - image: a PNG' "$dir/png-checks"
else
	check "chromium is installed (scripts/deps installs it)" false
fi

# Bad input: a clear error, nothing written.
tool=$root/target/release/stopwatch-timeline
status() { exit_status "$dir/bad.out" "$@"; }
# The first record's time made not hex.
awk '!done && /^r / { sub(/^r [0-9a-f]+ /, "r zz "); done = 1 } 1' "$dir/tl/dump.txt" >"$dir/bad-dump"
check "a corrupt record line: exit 1" test "$(status "$tool" "$dir/bad-dump" --svg "$dir/bad.svg")" = 1
check "... naming the line" grep -q 'line [0-9]*: not a dump line' "$dir/bad.out"
check "... and no image written" test ! -e "$dir/bad.svg"
check "an unknown option: exit 2" test "$(status "$tool" "$dir/tl/dump.txt" --bogus)" = 2
check "... named" grep -q "unknown option '--bogus'" "$dir/bad.out"
check "a missing instance: exit 1" test "$(status "$tool" "$dir/tl/dump.txt" --stop 99999 --svg "$dir/none.svg")" = 1
check "--help: exit 0" test "$(status "$tool" --help)" = 0
exit "$SW_FAILED"

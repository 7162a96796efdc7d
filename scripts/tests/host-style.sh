#!/usr/bin/env bash
# Host test: the Rust sources are rustfmt-clean (kernel settings) and the
# modules build without a clippy warning.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
SW_HOST=1 . "$root/scripts/guest/lib.sh"
cd "$root"
check "rustfmt --check (kernel .rustfmt.toml) is clean" make -s fmt-check
check "CLIPPY=1 build has no warning" scripts/modules --clippy
exit "$SW_FAILED"

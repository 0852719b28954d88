#!/usr/bin/env bash
# `make package`: builds the functions with `sam build` (BuildMethod rust-cargolambda: cargo-lambda
# cross-compiles the release binaries, zig from the venv) and reports the size of each deployment zip.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
sam build --beta-features --template-file template.yaml --build-dir .aws-sam/build "$@"
printf '%-28s %12s %12s\n' function binary zip
for dir in .aws-sam/build/*Function; do
  [ -f "$dir/bootstrap" ] || continue
  zip_file="$(mktemp -d)/$(basename "$dir").zip"
  (cd "$dir" && python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED); z.write('bootstrap'); z.close()" "$zip_file")
  printf '%-28s %10s B %10s B\n' "$(basename "$dir")" "$(stat -c %s "$dir/bootstrap")" "$(stat -c %s "$zip_file")"
done

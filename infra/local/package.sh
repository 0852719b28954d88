#!/usr/bin/env bash
# `make package`: builds the functions with `sam build` (BuildMethod rust-cargolambda: cargo-lambda
# cross-compiles the release binaries, zig from the venv) and reports the size of each deployment zip.
# Arguments go to `sam build` (function logical ids build only those).
#
# `make package FIPS=1` (ARCH=arm64, the template's default, or ARCH=x86_64) builds the FIPS variant instead, into
# .aws-sam/build-fips: every function with rotation-core's `fips` feature (CargoLambda.toml's `fips` context), in a
# target directory of its own (target/fips-lambda). AWS-LC's FIPS module is built from source by Go (offline) and
# CMake, and compiled by Debian's gcc, natively or, for arm64, by its cross compiler (gcc-aarch64-linux-gnu), without
# jump tables (below): zig cannot assemble the module's generated (delocated) assembly. Each binary must then run on
# Lambda's provided.al2023 (glibc 2.34), and start in FIPS mode (run once, arm64 under qemu-user): else the build fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
arch="${ARCH:-arm64}"
build_dir=.aws-sam/build
if [ "${FIPS:-0}" = 1 ]; then
  case "$arch" in
    arm64) triple=aarch64-unknown-linux-gnu gnu=aarch64-linux-gnu ;;
    x86_64) triple=x86_64-unknown-linux-gnu gnu=x86_64-linux-gnu ;;
    *) echo "package.sh: ARCH must be arm64 or x86_64, not $arch" >&2; exit 2 ;;
  esac
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  missing=()
  command -v go >/dev/null || missing+=(golang-go)
  command -v cmake >/dev/null || missing+=(cmake)
  command -v "$gnu-gcc" >/dev/null || missing+=("gcc-$gnu")
  command -v "$gnu-g++" >/dev/null || missing+=("g++-$gnu")
  # Each FIPS binary is run once after the build (arm64 under QEMU's user-mode emulator) to see it enter FIPS mode.
  [ "$arch" != arm64 ] || command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  rustup target list --installed | grep -qx "$triple" || rustup target add "$triple"
  target_env="${triple//-/_}"
  target_upper="${target_env^^}"
  export GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
  export CARGO_LAMBDA_CONTEXT=fips CARGO_LAMBDA_COMPILER=cargo CARGO_TARGET_DIR="$PWD/target/fips-lambda"
  export "CC_$target_env=$gnu-gcc" "CXX_$target_env=$gnu-g++" "AR_$target_env=$gnu-ar"
  export "CARGO_TARGET_${target_upper}_LINKER=$gnu-gcc"
  # GCC's aarch64 switch tables (`.byte (.L1 - .Lrtx1) / 4`) are an expression AWS-LC's delocate tool (which moves
  # the module's code into one verifiable section) cannot parse: the module is compiled without jump tables.
  [ "$arch" != arm64 ] || export "CFLAGS_$target_env=-fno-jump-tables"
  build_dir=.aws-sam/build-fips
fi
# (--parameter-overrides takes every word after it: the arguments go before it.)
sam build --beta-features --template-file template.yaml --build-dir "$build_dir" "$@" \
  --parameter-overrides "Architecture=$arch"

# The newest glibc symbol version a binary needs (Lambda's provided.al2023 has glibc 2.34).
glibc_needed() {
  { readelf --version-info --wide "$1" 2>/dev/null || true; } | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' \
    | sort -V | tail -n 1
}
status=0
printf '%-36s %12s %12s %6s\n' function binary zip glibc
for dir in "$build_dir"/*Function; do
  [ -f "$dir/bootstrap" ] || continue
  zip_file="$(mktemp -d)/$(basename "$dir").zip"
  (cd "$dir" && python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED); z.write('bootstrap'); z.close()" "$zip_file")
  glibc="$(glibc_needed "$dir/bootstrap")"
  printf '%-36s %10s B %10s B %6s\n' "$(basename "$dir")" "$(stat -c %s "$dir/bootstrap")" "$(stat -c %s "$zip_file")" "${glibc:--}"
  if [ -n "$glibc" ] && [ "$(printf '%s\n2.34\n' "$glibc" | sort -V | tail -n 1)" != 2.34 ]; then
    echo "package.sh: $(basename "$dir") needs glibc $glibc; Lambda's provided.al2023 has 2.34" >&2
    status=1
  fi
  if [ "${FIPS:-0}" = 1 ]; then
    # Its first line, before it looks for the (absent) Runtime API: the module's integrity check and self-tests
    # passed on this architecture, and FIPS mode is on.
    runner=(); [ "$arch" != arm64 ] || runner=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
    first="$(timeout 60 env -i AWS_LAMBDA_RUNTIME_API=127.0.0.1:9 AWS_REGION=us-east-1 \
      "${runner[@]}" "$dir/bootstrap" 2>&1 | head -n 1 || true)"
    if [[ "$first" != *'"message":"running in FIPS mode'* ]]; then
      echo "package.sh: $(basename "$dir") did not start in FIPS mode: $first" >&2
      status=1
    else
      echo "  $(basename "$dir"): $(grep -o '"module":"[^"]*"' <<<"$first") in FIPS mode"
    fi
  fi
done
if [ "$status" = 0 ]; then
  # What sam publish takes: the built template with its code, licence and readme in S3 (an AWS account's work).
  echo "next, to publish to the Serverless Application Repository (with AWS credentials and a bucket SAR may read):"
  echo "  sam package --template-file $build_dir/template.yaml --s3-bucket <bucket> --output-template-file $build_dir/packaged.yaml"
  echo "  sam publish --template $build_dir/packaged.yaml --region <region>"
fi
exit $status

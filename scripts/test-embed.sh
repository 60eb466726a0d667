#!/usr/bin/env bash
# Installs the runtime from BUILD_DIR into a temporary prefix, builds examples/embed against it
# (find_package(kconv) + kconv::runtime) and runs it on ARTIFACT.
#
#   scripts/test-embed.sh BUILD_DIR ARTIFACT
#   scripts/test-embed.sh BUILD_DIR --test-artifact   # the runtime tests' artifact, made with
#                                                     # kconv-make-test-artifact (exit 77 if no cc)
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR ARTIFACT|--test-artifact" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
artifact=$2
source_dir=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kconv-embed-XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ "$artifact" = "--test-artifact" ]; then
  maker=${KCONV_MAKE_TEST_ARTIFACT:-$build/bin/kconv-make-test-artifact}
  artifact=$work/test.kca
  status=0
  "$maker" "$artifact" || status=$?
  if [ $status -ne 0 ]; then
    echo "test-embed: cannot make the test artifact (exit $status)" >&2
    exit $status
  fi
fi

echo "test-embed: installing $build into $work/prefix"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" || {
  cat "$work/install.log" >&2
  exit 1
}
generator=()
if command -v ninja >/dev/null 2>&1; then
  generator=(-G Ninja)
fi
echo "test-embed: building examples/embed against it"
cmake "${generator[@]}" -S "$source_dir/examples/embed" -B "$work/build" \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >"$work/configure.log" || {
  cat "$work/configure.log" >&2
  exit 1
}
cmake --build "$work/build" >"$work/build.log" || {
  cat "$work/build.log" >&2
  exit 1
}
echo "test-embed: running embed $artifact"
"$work/build/embed" "$artifact"

#!/bin/sh
# run_tool.sh PACKAGE TOOL [ARG...]: runs TOOL, or fails naming the Debian
# package that provides it (a missing tool fails a test, never skips it).
package=$1
tool=$2
shift 2
if ! command -v "$tool" >/dev/null 2>&1; then
  echo "$tool not found: apt-get install $package (or scripts/setup)" >&2
  exit 1
fi
exec "$tool" "$@"

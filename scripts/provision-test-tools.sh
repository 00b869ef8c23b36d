#!/usr/bin/env bash
# The real servers and tools the test suite runs against, beside the Temporal executables:
# Prometheus and an OCI registry (docs/integrations.md "Integrations"), Chromium for the board's browser tests,
# bubblewrap for the step sandbox (docs/threat-model.md), and oras, the OCI registry client.
# Installs what is missing from Debian's packages (as root) and the Go module proxy; says what
# to install otherwise. Run by `npm test` (scripts/ensure-setup.js) and `.ci/run`.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "release-flow setup: apt-get install ${missing[*]} ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "release-flow setup: the tests need ${missing[*]}; install them (Debian: sudo apt-get install ${missing[*]})" >&2
  fi
fi

mkdir -p .tools/bin
if [ ! -x .tools/bin/oras ] && ! command -v oras >/dev/null 2>&1; then
  if command -v go >/dev/null 2>&1; then
    echo "release-flow setup: go install oras (the OCI registry client) ..."
    GOBIN="$(cd .tools/bin && pwd -P)" go install oras.land/oras/cmd/oras@v1.3.6
  else
    echo "release-flow setup: the OCI registry tests need oras (Go >= 1.23: go install oras.land/oras/cmd/oras@v1.3.6)" >&2
  fi
fi

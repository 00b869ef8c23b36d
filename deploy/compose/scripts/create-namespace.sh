#!/bin/sh
# One-shot: the default namespace and release-flow's search attributes (see
# src/temporal/search-attributes.ts), each created only when missing.
set -eu
NS="${DEFAULT_NAMESPACE:-default}"
until temporal operator cluster health >/dev/null 2>&1; do echo "waiting for temporal"; sleep 2; done
temporal operator namespace describe -n "$NS" >/dev/null 2>&1 || temporal operator namespace create -n "$NS"
for name in ReleaseRepository ReleaseVersion ReleaseStage ReleaseCommit; do
  temporal operator search-attribute create --namespace "$NS" --name "$name" --type Keyword >/dev/null 2>&1 || true
done
echo "namespace $NS ready"

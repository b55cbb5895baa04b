#!/usr/bin/env bash
# Validates deploy/k8s-indexed-job.yaml against the Kubernetes API schema, strictly (an
# unknown field is an error), for the oldest and newest Kubernetes the validator knows.
# The validator is PyPI's kubernetes-validate, which ships the schemas (nothing is fetched
# when it runs); it is installed into a virtualenv when missing. .ci/run runs this.
# Also checks what the schema cannot: the Job's completions equal the N of `--shard auto/N`.
#
# Environment: ZABSIM_K8S_VENV (the virtualenv; default ~/.cache/zabsim/k8s-validate).
set -euo pipefail
cd "$(dirname "$0")/.."
manifest=deploy/k8s-indexed-job.yaml
version=1.37.0
venv=${ZABSIM_K8S_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/zabsim/k8s-validate}
kv="$venv/bin/kubernetes-validate"

if ! [ -x "$kv" ] || [ "$("$kv" --version 2>/dev/null)" != "$version" ]; then
  echo "k8s-validate: installing kubernetes-validate $version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$version"
fi

# 1.25 is the oldest schema the validator ships (Indexed Jobs are stable since 1.24).
for k in 1.25.0 "$version"; do
  "$kv" --strict --kubernetes-version "$k" "$manifest"
done

completions=$(sed -n 's/^ *completions: *\([0-9]*\) *$/\1/p' "$manifest")
shards=$(sed -n '/^ *#/d; s/.*--shard auto\/\([0-9]*\).*/\1/p' "$manifest")
if [ -z "$completions" ] || [ "$completions" != "$shards" ]; then
  echo "k8s-validate: $manifest: completions is '$completions' but the shard count is '$shards'" >&2
  exit 1
fi
echo "k8s-validate: $manifest is valid ($completions shards)"

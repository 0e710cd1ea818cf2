#!/bin/sh
# Puts the scenario's documents into the pipeline workspace (Task fetch-documents).
# The documents ship in the repository (gitops/components/docling-pipeline/documents/<scenario>/)
# and reach the cluster as ConfigMap documents-<scenario>, mounted at SOURCE: nothing is
# downloaded at run time. DIR is the scenario's source directory in the workspace.
set -eu
SOURCE=$(printenv SOURCE || echo /documents)
rm -rf "$DIR"
mkdir -p "$DIR"
n=0
for f in "$SOURCE"/*; do
  [ -f "$f" ] || continue
  cp -L "$f" "$DIR/"
  n=$((n + 1))
  echo "document $(basename "$f")"
done
if [ "$n" -eq 0 ]; then
  echo "no documents in $SOURCE (ConfigMap $CONFIGMAP is empty)" >&2
  exit 1
fi
echo "fetched $n documents from ConfigMap $CONFIGMAP into $DIR"

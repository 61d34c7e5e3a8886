#!/bin/sh
# Copy every node's report out of the DaemonSet's pods into ./reports, then compare the fleet.
#   kubectl apply -f namespace.yaml -f daemonset.yaml
#   kubectl rollout status -n sockbridge daemonset/sockbridge-sweep --timeout=30m
#   sh gather.sh && npx sockbridge diff reports/*.jsonl --format html --out fleet.html
set -eu
mkdir -p reports
kubectl get pods -n sockbridge -l app.kubernetes.io/name=sockbridge-sweep \
  -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName}{"\n"}{end}' |
while read -r pod node; do
  kubectl cp -n sockbridge -c hold "$pod:/reports/$node.jsonl" "reports/$node.jsonl"
done
ls -l reports

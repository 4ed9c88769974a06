#!/bin/sh
# Refresh the relay's list of top-level domains from IANA, then run the relay's tests and
# commit the file. IANA updates the list when a domain is delegated or retired (a few times a
# year); the first line names its version.
#   scripts/update-tlds.sh
set -eu
target="$(dirname "$0")/../mykerio/relay/data/tlds-alpha-by-domain.txt"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
curl -fsS https://data.iana.org/TLD/tlds-alpha-by-domain.txt -o "$tmp"
# A sane list: a version line and well over a thousand domains, each of letters, digits, hyphens.
head -1 "$tmp" | grep -q '^# Version '
test "$(grep -vc '^#' "$tmp")" -gt 1000
! grep -v '^#' "$tmp" | grep -qv '^[A-Z0-9-]*$'
mv "$tmp" "$target"
chmod 0644 "$target"
trap - EXIT
head -1 "$target"

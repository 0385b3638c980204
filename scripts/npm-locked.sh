#!/usr/bin/env bash
# Serialises npm commands between concurrent developers/helpers on one checkout.
# Usage: scripts/npm-locked.sh install -w packages/world some-pkg
exec flock /tmp/alignda-npm.lock npm "$@"

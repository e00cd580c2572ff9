#!/usr/bin/env bash
# Install the gungraun runner at the version the pool workload's instruction-count benches are pinned to
# (the runner and the library must be the same version). valgrind comes from the system (apt-get install
# valgrind). Usage: scripts/install-gungraun-runner.sh [--root DIR]   (default: cargo's bin directory)
set -euo pipefail
VERSION=0.20.0
cargo install gungraun-runner --version "$VERSION" --locked "$@"
echo "gungraun-runner $VERSION installed; valgrind: $(valgrind --version 2>/dev/null || echo 'missing (apt-get install valgrind)')"

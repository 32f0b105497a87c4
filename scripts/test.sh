#!/usr/bin/env bash
# Installs what is missing, builds natively and with Emscripten, and runs every test suite:
#   native     GoogleTest suite through ctest (g++, scalar + XNNPACK paths)
#   asan       the same suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   wasm       the same GoogleTest suite compiled with em++, run under node
#   node       cross-checks against onnxruntime-node / the onnx checker (tests/js)
#   browser    Playwright + Debian Chromium, headless (tests/browser)
# Prints one summary line per suite and a total; exits non-zero if any test fails or any suite
# ran zero tests. Exhaustive sweeps (tests named *Long*) run only with QP_LONG=1.
#
# Options: --skip-setup, --only SUITE[,SUITE...]   (for local iteration; CI runs everything)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export NODE_PATH=/usr/share/nodejs
JOBS="${QP_JOBS:-$(nproc)}"
LOGS="$ROOT/build/logs"
SKIP_SETUP=0
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-setup) SKIP_SETUP=1 ;;
    --only) ONLY="$2"; shift ;;
    *) echo "usage: $0 [--skip-setup] [--only native,asan,wasm,node,browser]" >&2; exit 2 ;;
  esac
  shift
done
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

START=$(date +%s)
mkdir -p "$LOGS"
SUMMARY=()
TOTAL_PASS=0; TOTAL_FAIL=0; TOTAL_SKIP=0; BAD=0

record() {  # record SUITE PASS FAIL SKIP [note]
  local suite="$1" pass="$2" fail="$3" skip="$4" note="${5:-}"
  TOTAL_PASS=$((TOTAL_PASS + pass)); TOTAL_FAIL=$((TOTAL_FAIL + fail)); TOTAL_SKIP=$((TOTAL_SKIP + skip))
  if [ "$fail" -gt 0 ] || [ "$pass" -eq 0 ]; then BAD=1; fi
  [ "$pass" -eq 0 ] && note="${note:+$note; }ZERO tests executed"
  SUMMARY+=("$(printf '%-8s %5d passed, %d failed, %d skipped%s' "$suite:" "$pass" "$fail" "$skip" \
    "${note:+   ($note)}")")
}

step() {  # step NAME LOGFILE COMMAND...: runs a build step quietly, shows the log tail on failure
  local name="$1" log="$2"; shift 2
  echo "[test] $name"
  if ! "$@" >"$log" 2>&1; then
    echo "[test] FAILED: $name (log: $log)"; tail -40 "$log"
    return 1
  fi
}

# Parses a gtest JSON report into "PASS FAIL SKIP".
gtest_counts() {
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    let p = 0, f = 0, s = 0;
    for (const suite of r.testsuites || []) for (const t of suite.testsuite || []) {
      if (t.result === "SKIPPED" || t.status === "NOTRUN") s++;
      else if (t.failures && t.failures.length) f++;
      else p++;
    }
    console.log(p, f, s);' "$1" 2>/dev/null || echo "0 1 0"
}

# Parses node --test TAP output into "PASS FAIL SKIP".
tap_counts() {
  local pass fail skip
  pass=$(grep -E '^# pass ' "$1" | tail -1 | awk '{print $3}')
  fail=$(grep -E '^# fail ' "$1" | tail -1 | awk '{print $3}')
  skip=$(grep -E '^# skipped ' "$1" | tail -1 | awk '{print $3}')
  echo "${pass:-0} ${fail:-1} ${skip:-0}"
}

if [ "$SKIP_SETUP" = 0 ]; then
  ./scripts/setup.sh || { echo "[test] setup failed"; echo "total: 0 passed, 1 failed"; exit 1; }
fi

LONG_FILTER="-*Long*"
[ "${QP_LONG:-0}" = 1 ] && LONG_FILTER="*"
# Under ASan the accuracy-result tests (whole models on Fashion-MNIST: 2 of the 3 minutes ASan
# needs) re-run code paths the rest of the suite covers on smaller inputs; the native suite runs
# them. QP_ASAN_FILTER overrides.
ASAN_FILTER="${LONG_FILTER}:*WorkflowResults*:WorkflowsPtq.TrainedModelsKeepAccuracyOnFashionMnist"
[ "${QP_LONG:-0}" = 1 ] && ASAN_FILTER="*"

# ---- native ----------------------------------------------------------------------------------------
if want native; then
  if step "configure native" "$LOGS/native-configure.log" cmake --preset native &&
     step "build native" "$LOGS/native-build.log" cmake --build --preset native -j "$JOBS"; then
    echo "[test] run native suite (ctest)"
    ctest_args=(--preset native --output-on-failure -j "$JOBS" --timeout 600)
    [ "${QP_LONG:-0}" = 1 ] && ctest_args=(--test-dir build/native --output-on-failure -j "$JOBS")
    ctest "${ctest_args[@]}" >"$LOGS/native-test.log" 2>&1
    line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$LOGS/native-test.log" | tail -1)
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line"); failed=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
    skipped=$(grep -cE '\*\*\*Skipped|Not Run' "$LOGS/native-test.log" || true)
    [ -n "$line" ] || { total=0; failed=1; tail -40 "$LOGS/native-test.log"; }
    [ "${failed:-0}" -gt 0 ] && grep -E '^\s*[0-9]+ - .*\(Failed|Timeout|SEGFAULT|Exception' "$LOGS/native-test.log" | head -40
    record native $((total - failed - skipped)) "$failed" "$skipped"
  else
    record native 0 1 0 "build failed"
  fi
fi

# ---- native under ASan + UBSan -------------------------------------------------------------------------
if want asan; then
  if step "configure native-asan" "$LOGS/asan-configure.log" cmake --preset native-asan &&
     step "build native-asan" "$LOGS/asan-build.log" cmake --build --preset native-asan -j "$JOBS" --target qp_tests; then
    echo "[test] run native suite under ASan+UBSan"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ./build/native-asan/tests/qp_tests --gtest_filter="${QP_ASAN_FILTER:-$ASAN_FILTER}" \
      --gtest_output=json:"$LOGS/asan.json" >"$LOGS/asan-test.log" 2>&1
    rc=$?
    read -r p f s < <(gtest_counts "$LOGS/asan.json")
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; tail -40 "$LOGS/asan-test.log"; fi  # sanitizer abort
    [ "$f" -gt 0 ] && grep -E '^\[  FAILED  \]|ERROR: (Address|Leak)Sanitizer|runtime error' "$LOGS/asan-test.log" | head -20
    record asan "$p" "$f" "$s"
  else
    record asan 0 1 0 "build failed"
  fi
fi

# ---- wasm under node ---------------------------------------------------------------------------------
if want wasm || want browser || want node; then
  # The data subset the web bundle and the node API build embed (needs the native tool).
  step "web data subset" "$LOGS/web-subset.log" ./scripts/web_subset.sh build/wasm || true
fi
if want wasm; then
  if step "configure wasm" "$LOGS/wasm-configure.log" cmake --preset wasm &&
     step "build wasm" "$LOGS/wasm-build.log" cmake --build --preset wasm -j "$JOBS"; then
    echo "[test] run wasm suite under node"
    (cd build/wasm/tests && timeout 1500 node --no-experimental-fetch qp_tests.js --gtest_filter="$LONG_FILTER" \
       --gtest_output=json:"$LOGS/wasm.json") >"$LOGS/wasm-test.log" 2>&1
    rc=$?
    read -r p f s < <(gtest_counts "$LOGS/wasm.json")
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; tail -40 "$LOGS/wasm-test.log"; fi
    [ "$f" -gt 0 ] && grep -E '^\[  FAILED  \]' "$LOGS/wasm-test.log" | head -20
    record wasm "$p" "$f" "$s"
  else
    record wasm 0 1 0 "build failed"
  fi
fi

# ---- node cross-checks (onnxruntime-node, onnx checker, CommonJS wasm API) -------------------------
if want node; then
  mapfile -t JS_TESTS < <(ls tests/js/*.test.mjs 2>/dev/null)
  if [ "${#JS_TESTS[@]}" -gt 0 ]; then
    echo "[test] run node cross-checks (${#JS_TESTS[@]} files)"
    export QP_NATIVE_BUILD="$ROOT/build/native" QP_WASM_BUILD="$ROOT/build/wasm"
    export QP_WORK_DIR="$ROOT/build/js-work"; rm -rf "$QP_WORK_DIR"; mkdir -p "$QP_WORK_DIR"
    timeout 1200 node --test --test-reporter=tap "${JS_TESTS[@]}" >"$LOGS/node-test.log" 2>&1
    read -r p f s < <(tap_counts "$LOGS/node-test.log")
    [ "$f" -gt 0 ] && grep -E '^\s*not ok' "$LOGS/node-test.log" | head -20
    record node "$p" "$f" "$s"
  else
    record node 0 1 0 "no tests/js/*.test.mjs"
  fi
fi

# ---- browser (Playwright + Debian Chromium, headless) ------------------------------------------------
if want browser; then
  mapfile -t BR_TESTS < <(ls tests/browser/*.test.mjs 2>/dev/null)
  if ! want wasm; then  # the wasm step builds the bundle; alone, build just the page
    step "configure wasm" "$LOGS/wasm-configure.log" cmake --preset wasm &&
      step "build web bundle" "$LOGS/web-build.log" cmake --build --preset wasm -j "$JOBS" --target qp_web || BR_TESTS=()
  fi
  if [ "${#BR_TESTS[@]}" -gt 0 ]; then
    echo "[test] run browser tests (${#BR_TESTS[@]} files)"
    export QP_WEB_DIST="${QP_WEB_DIST:-$ROOT/build/wasm/web/dist}"
    export QP_ARTIFACTS="$ROOT/build/browser-artifacts"; mkdir -p "$QP_ARTIFACTS"
    timeout 1500 node --test --test-concurrency=1 --test-reporter=tap "${BR_TESTS[@]}" >"$LOGS/browser-test.log" 2>&1
    read -r p f s < <(tap_counts "$LOGS/browser-test.log")
    [ "$f" -gt 0 ] && grep -E '^\s*not ok' "$LOGS/browser-test.log" | head -20
    record browser "$p" "$f" "$s"
  else
    record browser 0 1 0 "no tests/browser/*.test.mjs"
  fi
fi

echo
echo "================ qplay test summary ($(( $(date +%s) - START )) s) ================"
for l in "${SUMMARY[@]}"; do echo "$l"; done
echo "logs: build/logs/"
echo "total: $TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped"
exit "$BAD"

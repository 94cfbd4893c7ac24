# scripts/deps.sh - sourced by tests/run.sh and bench/bench.sh.
# ll_deps PKG...: install the Debian packages that are missing when running as root; otherwise
# print the exact apt-get line and fail. Package names are Debian 12's.

LL_BUILD_DEPS="cmake make gcc pkg-config libcurl4-openssl-dev libuv1-dev libcmocka-dev libhttp-parser-dev libcjson-dev libssl-dev libnghttp2-dev"

ll_deps() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages; run as root: apt-get install -y ${missing[*]}" >&2
        return 1
    fi
    echo "installing: ${missing[*]}" >&2
    # An old or absent package list finds nothing: refresh it once, quietly.
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        { echo "apt-get install failed: ${missing[*]}" >&2; return 1; }
}

# ll_build DIR [cmake -D args...]: configure (once) and build into DIR with every core.
ll_build() {
    local dir=$1; shift
    cmake -S "$LL_TOP" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null || return 1
    cmake --build "$dir" -j "$(nproc)" 2>&1 | grep -E 'error|warning|Error' || true
    [ "${PIPESTATUS[0]}" -eq 0 ]
}

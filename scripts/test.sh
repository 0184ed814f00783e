#!/usr/bin/env bash
# Runs unsee's whole test suite. Installs Mesa's software Vulkan driver (lavapipe) first where no
# Vulkan driver is present, so the GPU tests run on any machine, GPU or not.
set -euo pipefail
cd "$(dirname "$0")/.."

have_vulkan_driver() {
    compgen -G '/usr/share/vulkan/icd.d/*.json' >/dev/null || compgen -G '/etc/vulkan/icd.d/*.json' >/dev/null || return 1
    ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'
}

# The window test needs a display: without one it runs the viewer under Xvfb.
need_xvfb() {
    [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && ! command -v xvfb-run >/dev/null
}

packages=()
have_vulkan_driver || packages+=(mesa-vulkan-drivers libvulkan1)
need_xvfb && packages+=(xvfb xauth)
if [ ${#packages[@]} -gt 0 ]; then
    echo "Installing ${packages[*]} (software Vulkan driver / virtual display for the tests)." >&2
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if command -v apt-get >/dev/null; then
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
    else
        echo "Install ${packages[*]} (or your system's equivalents) and rerun." >&2
        exit 1
    fi
fi

# Mesa's Vulkan WSI prints an error per device when XDG_RUNTIME_DIR is unset (headless machines).
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    XDG_RUNTIME_DIR=$(mktemp -d)
    chmod 700 "$XDG_RUNTIME_DIR"
    export XDG_RUNTIME_DIR
fi

# One profile for everything: the release build is the one users run.
cargo test --release "$@"

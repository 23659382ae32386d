#!/usr/bin/env bash
# The one place that provisions what `npm test` needs beyond node_modules (it runs as `pretest`,
# and .ci/run calls it): the Debian packages behind the real-parts tests.
#   mosquitto, mosquitto-clients   real MQTT broker for the hardware tests
#   chromium                       headless browser for the viewer tests
#   redis-server                   BullMQ's Redis for the sweep/worker tests
#   python3-h5py                   reads our Minari HDF5 files with the reference library
#   libopenblas0-pthread           OpenBLAS for the wasm backend's matMul (controllers/nn/blas.ts); optional at run time
#   mesa-vulkan-drivers >= 25      llvmpipe Vulkan adapter for the WebGPU (Dawn) tests; bookworm's
#                                  22.3 is refused by Dawn, so it comes from bookworm-backports
# As root it installs what is missing with apt-get; otherwise it prints the one command to run.
# When everything is present it only checks (a fraction of a second).
set -euo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
have mosquitto || missing+=(mosquitto)
have mosquitto_passwd || missing+=(mosquitto-clients)
have chromium || missing+=(chromium)
have redis-server || missing+=(redis-server)
/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1 || missing+=(python3-h5py)
dpkg-query -W -f '${Status}' libopenblas0-pthread 2>/dev/null | grep -q 'install ok installed' || missing+=(libopenblas0-pthread)
mesa_version="$(dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null || true)"
need_mesa=0
if [ -z "$mesa_version" ] || dpkg --compare-versions "$mesa_version" lt 25; then need_mesa=1; fi

if [ ${#missing[@]} -eq 0 ] && [ "$need_mesa" = 0 ]; then
  exit 0
fi

backports_list=/etc/apt/sources.list.d/embody-bookworm-backports.list
if [ "$(id -u)" != 0 ]; then
  echo "provision: missing Debian packages: ${missing[*]} $([ "$need_mesa" = 1 ] && echo 'mesa-vulkan-drivers>=25 (bookworm-backports)')" >&2
  echo "provision: run once as root: sudo bash scripts/provision.sh" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "provision: installing ${missing[*]} $([ "$need_mesa" = 1 ] && echo 'mesa-vulkan-drivers (bookworm-backports)')" >&2
if [ "$need_mesa" = 1 ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' > "$backports_list"
fi
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "$need_mesa" = 1 ]; then
  apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
fi
echo "provision: done" >&2

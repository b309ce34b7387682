#!/usr/bin/env bash
# The end-to-end tests drive real clients from Debian's packages (and curl, for Quay's documented
# API examples; the Docker engine and containerd, which the tests start themselves; Chromium for
# the web UI, driven headless by playwright-core; git, unzip, zip and pgrep for the origin
# connector's tests). Installs what
# is missing when run as root on Debian (as CI does); otherwise says exactly what to install and
# fails.
set -euo pipefail
declare -A package_of=(
  [skopeo]=skopeo [podman]=podman [buildah]=buildah [docker-registry]=docker-registry [curl]=curl
  [docker]=docker.io [dockerd]=docker.io [ctr]=containerd [containerd]=containerd [chromium]=chromium
  [git]=git [unzip]=unzip [zip]=zip [pgrep]=procps
)
# Daemons live in /usr/sbin, which a non-root PATH may lack. The docker CLI must be Debian's
# /usr/bin/docker (test/e2e/helpers/daemons.ts), whatever other docker comes first in PATH.
have() {
  case "$1" in
    docker) [ -x /usr/bin/docker ] ;;
    chromium) [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] ;;
  esac
}
missing=()
for tool in skopeo podman buildah docker-registry curl docker dockerd ctr containerd chromium git unzip zip pgrep; do
  have "$tool" || missing+=("${package_of[$tool]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tools: installing ${missing[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "ensure-tools: the end-to-end tests need: ${missing[*]}" >&2
echo "ensure-tools: install them with: sudo apt-get install ${missing[*]}" >&2
exit 1

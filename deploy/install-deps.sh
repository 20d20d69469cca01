#!/usr/bin/env bash
# install-deps.sh: install every Debian package ckube needs to build, test and run.
#
# Idempotent and quiet: when everything is present it only runs one dpkg-query.
# It runs `apt-get update` only when a package is missing (or the lists are empty),
# and never leaves a daemon running: package scripts that try to start services
# (containerd, etcd, nginx, docker-registry) are refused through policy-rc.d, and
# anything they started anyway is stopped by PID afterwards.
set -euo pipefail

PACKAGES=(
	# build
	build-essential cmake pkg-config clang
	libgrpc-dev libprotobuf-c-dev protobuf-c-compiler
	libuv1-dev libyaml-dev libcjson-dev libssl-dev
	libhttp-parser-dev libcmocka-dev
	# fuzzing and sanitizers with clang
	libclang-rt-14-dev
	# etcd and its protos (for reading)
	etcd-server etcd-client golang-etcd-server-dev
	# runtime: containerd, runc, CNI
	containerd runc containernetworking-plugins
	# lab: network, images, local registry
	iptables iproute2 util-linux procps openssl curl
	docker-registry skopeo busybox-static nginx-light
	# bench and tooling
	wrk python3 shellcheck
)

missing=()
status=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
for p in "${PACKAGES[@]}"; do
	if ! grep -qE "^${p//+/\\+} ii" <<<"$status"; then
		missing+=("$p")
	fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps: missing packages (${missing[*]}); run as root" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive

# Daemons already running before we start are not ours: remember them so that only
# what the package scripts start is stopped afterwards.
daemons='containerd|etcd|nginx|docker-registry|registry'
before=$(ps -eo pid=,comm= | awk -v re="^($daemons)\$" '$2 ~ re {print $1}' | sort -n | tr '\n' ' ')

policy=/usr/sbin/policy-rc.d
policy_ours=0
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\n# ckube install-deps: no service starts during install\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	policy_ours=1
fi
cleanup() {
	if [[ $policy_ours -eq 1 ]]; then
		rm -f "$policy"
	fi
}
trap cleanup EXIT

install() {
	apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"${missing[@]}" >/dev/null
}
# Update the lists only when they are empty, a package cannot be found in them, or
# the install fails with them (stale lists name versions the mirror no longer has).
lists=(/var/lib/apt/lists/*_Packages*)
updated=0
if [[ ! -e ${lists[0]} ]] || ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
	apt-get update -qq
	updated=1
fi
if ! install; then
	[[ $updated -eq 0 ]] || exit 1
	apt-get update -qq
	install
fi

# Stop any daemon a package script started despite policy-rc.d (no init system here).
after=$(ps -eo pid=,comm= | awk -v re="^($daemons)\$" '$2 ~ re {print $1}' | sort -n)
for pid in $after; do
	if [[ " $before " != *" $pid "* ]]; then
		echo "install-deps: stopping $(cat "/proc/$pid/comm" 2>/dev/null || echo '?') ($pid) started by a package script" >&2
		kill "$pid" 2>/dev/null || true
	fi
done
echo "install-deps: done" >&2

# shellcheck shell=bash
# tests/e2e/lib.sh: shared by the lab tests (sourced; not a test itself).
# Needs SRC and LAB set.

# e2e_preflight NAME: root, and no other lab up. A lab left by an aborted test or
# bench run (its temporary directory) is taken down; any other running lab is
# someone's work: stop.
e2e_preflight() {
	local name=$1 other
	if [[ $(id -u) -ne 0 ]]; then
		echo "$name: needs root (the lab makes namespaces and mounts)" >&2
		exit 1
	fi
	if [[ -s /run/ckube-lab/current ]]; then
		other=$(cat /run/ckube-lab/current)
		case $other in
		/tmp/ckube-e2e.* | /tmp/ckube-bench.*)
			echo "$name: taking down the lab left in $other" >&2
			"$LAB" down --dir "$other" --purge >&2 || true
			;;
		*)
			if ip link show ckube-br0 >/dev/null 2>&1; then
				echo "$name: a lab is already up in $other; run deploy/lab down first" >&2
				exit 1
			fi
			;;
		esac
	fi
}

# snapshot: the parts of the machine the lab touches, named so that other work on the
# machine (other namespaces, mounts, rules) does not count. Uses DIR.
snapshot() {
	{
		echo "# netns"
		ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^ckube-' | sort || true
		echo "# links"
		ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^(ckube-|ckv-)' | sort || true
		echo "# mounts"
		grep -E "ckube-lab|$DIR" /proc/self/mountinfo | awk '{print $5}' | sort || true
		echo "# iptables"
		iptables-save 2>/dev/null | grep -E 'ckube' || true
		echo "# routes"
		ip route show | grep -E '10\.244\.|192\.168\.56\.' || true
		echo "# cgroups"
		ls -d /sys/fs/cgroup/*/ckube-lab 2>/dev/null || true
		echo "# processes"
		pgrep -af -- "$DIR" | cut -d' ' -f2- || true
	}
}

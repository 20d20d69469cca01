#!/usr/bin/env bash
# Every binary answers --help and --version, and refuses a bad flag with a one-line
# message and exit code 2.
set -u
bin=${CKUBE_BINARY_DIR:?}
fail=0
check() { # name description condition...
	local what=$1
	shift
	if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}
for b in kube-apiserver kube-scheduler kube-controller-manager kubelet kube-proxy kubectl kubeadm; do
	out=$("$bin/$b" --version 2>&1); rc=$?
	check "$b --version" test "$rc" = 0 -a "${out#"$b "}" != "$out"
	out=$("$bin/$b" --help 2>&1); rc=$?
	check "$b --help" test "$rc" = 0 -a -n "$out"
	out=$("$bin/$b" --no-such-flag 2>&1 </dev/null); rc=$?
	check "$b bad flag exits 2" test "$rc" = 2
	check "$b bad flag: one line" test "$(printf '%s\n' "$out" | wc -l)" = 1
done
# A flag's value out of range is refused the same way.
out=$("$bin/kube-apiserver" --etcd-servers=http://127.0.0.1:1 --event-ttl=500ms 2>&1); rc=$?
check "kube-apiserver --event-ttl=500ms exits 2" test "$rc" = 2
check "kube-apiserver --event-ttl=500ms: one line" test "$out" = "kube-apiserver: --event-ttl must be 0 or at least 1s"
echo "$( [ $fail = 0 ] && echo passed || echo FAILED )"
exit $fail

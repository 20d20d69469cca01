# shellcheck shell=bash
# deploy/lab.d/pki.sh: the lab's CA, certificates and kubeconfigs (openssl CLI).
# Sourced by deploy/lab. Files are made once and kept: `up` is fast the second time.

PKI_DAYS=3650

# pki_ca: DIR/pki/ca.{crt,key}.
pki_ca() {
	local p=$DIR/pki
	mkdir -p "$p"
	[[ -f $p/ca.crt && -f $p/ca.key ]] && return 0
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$PKI_DAYS" \
		-keyout "$p/ca.key" -out "$p/ca.crt" -subj "/CN=kubernetes" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" 2>/dev/null
	chmod 600 "$p/ca.key"
}

# pki_cert NAME SUBJECT USAGE [SANS]: DIR/pki/NAME.{crt,key} signed by the CA.
# USAGE is clientAuth, serverAuth or "serverAuth,clientAuth"; SANS like
# "DNS:kubernetes,IP:127.0.0.1".
pki_cert() {
	local name=$1 subj=$2 usage=$3 sans=${4:-} p=$DIR/pki
	[[ -f $p/$name.crt && -f $p/$name.key ]] && return 0
	local ext=$p/$name.ext
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$usage"
		if [[ -n $sans ]]; then
			echo "subjectAltName=$sans"
		fi
	} >"$ext"
	openssl req -new -newkey rsa:2048 -nodes -sha256 -keyout "$p/$name.key" \
		-out "$p/$name.csr" -subj "$subj" 2>/dev/null
	openssl x509 -req -in "$p/$name.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" \
		-CAcreateserial -days "$PKI_DAYS" -sha256 -extfile "$ext" \
		-out "$p/$name.crt" 2>/dev/null
	chmod 600 "$p/$name.key"
	rm -f "$p/$name.csr" "$ext"
}

# pki_kubeconfig FILE USER CERT_NAME SERVER: a kubeconfig with the CA and the
# client certificate embedded (as kubeadm writes them).
pki_kubeconfig() {
	local file=$1 user=$2 cert=$3 server=$4 p=$DIR/pki
	local ca crt key
	ca=$(base64 -w0 <"$p/ca.crt")
	crt=$(base64 -w0 <"$p/$cert.crt")
	key=$(base64 -w0 <"$p/$cert.key")
	cat >"$file.tmp" <<-EOF
		apiVersion: v1
		kind: Config
		clusters:
		- cluster:
		    certificate-authority-data: $ca
		    server: $server
		  name: ckube-lab
		contexts:
		- context:
		    cluster: ckube-lab
		    user: $user
		  name: $user@ckube-lab
		current-context: $user@ckube-lab
		preferences: {}
		users:
		- name: $user
		  user:
		    client-certificate-data: $crt
		    client-key-data: $key
	EOF
	chmod 600 "$file.tmp"
	mv "$file.tmp" "$file"
}

# pki_control_plane: CA, apiserver serving cert, service-account keys, client certs
# and kubeconfigs of the admin, the scheduler and the controller-manager.
pki_control_plane() {
	local p=$DIR/pki server=https://$MASTER_IP:6443
	pki_ca
	pki_cert apiserver "/CN=kube-apiserver" serverAuth \
		"DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:$MASTER,DNS:localhost,IP:127.0.0.1,IP:$MASTER_IP,IP:$HOST_IP,IP:$SERVICE_IP"
	pki_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
	pki_cert admin "/O=system:masters/CN=kubernetes-admin" clientAuth
	pki_cert scheduler "/CN=system:kube-scheduler" clientAuth
	pki_cert controller-manager "/CN=system:kube-controller-manager" clientAuth
	if [[ ! -f $p/sa.key ]]; then
		openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
		openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
		chmod 600 "$p/sa.key"
	fi
	[[ -f $DIR/admin.conf ]] || pki_kubeconfig "$DIR/admin.conf" kubernetes-admin admin "$server"
	[[ -f $DIR/scheduler.conf ]] || pki_kubeconfig "$DIR/scheduler.conf" system:kube-scheduler scheduler "$server"
	[[ -f $DIR/controller-manager.conf ]] ||
		pki_kubeconfig "$DIR/controller-manager.conf" system:kube-controller-manager controller-manager "$server"
}

# pki_node I: worker I's kubelet client and serving certificates and kubeconfig.
pki_node() {
	local i=$1 name ip d
	name=$(node_name "$i")
	ip=$(node_ip "$i")
	d=$(node_dir "$i")
	pki_cert "kubelet-$name" "/O=system:nodes/CN=system:node:$name" clientAuth
	pki_cert "kubelet-$name-serving" "/CN=$name" serverAuth "DNS:$name,IP:$ip"
	mkdir -p "$d/pki"
	cp "$DIR/pki/ca.crt" "$d/pki/ca.crt"
	cp "$DIR/pki/kubelet-$name-serving.crt" "$d/pki/kubelet.crt"
	cp "$DIR/pki/kubelet-$name-serving.key" "$d/pki/kubelet.key"
	[[ -f $d/kubelet.conf ]] ||
		pki_kubeconfig "$d/kubelet.conf" "system:node:$name" "kubelet-$name" "https://$MASTER_IP:6443"
}

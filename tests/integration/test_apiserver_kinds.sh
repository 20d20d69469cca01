#!/usr/bin/env bash
# The kinds of issue 23, each added by its description file alone, driven by upstream
# kubectl (1.32, and 1.27 and 1.33 for the same checks) against a real apiserver and etcd:
# discovery with short names, create/get/patch/delete, the exact table headers and rows
# (-o wide too), upstream's defaults, one validation error each with upstream's message,
# and kubectl's typed create commands, which send protobuf bodies.
source "$(dirname "$0")/../harness/cluster.sh"

h_start_etcd
h_start_apiserver
SDK=/usr/lib/google-cloud-sdk/bin
AGE='[0-9]+(s|m)'

# invalid NAME PATTERN KIND OBJ: creating the JSON object fails with PATTERN and leaves
# nothing behind.
invalid() {
	local name=$1 pat=$2 kind=$3
	h_expect_fail "$kubectl $name" "$pat" k create -f - <<<"$4"
	h_expect_fail "$kubectl $name not stored" 'NotFound' k get "$kind" bad
}

workloads() {
	h_expect "$kubectl api-resources sts" 'statefulsets +sts +apps/v1 +true +StatefulSet' \
		k api-resources
	h_expect "$kubectl api-resources ds" 'daemonsets +ds +apps/v1 +true +DaemonSet' \
		k api-resources
	h_expect "$kubectl api-resources controllerrevisions" \
		'controllerrevisions +apps/v1 +true +ControllerRevision' k api-resources
	h_expect "$kubectl api-resources jobs" 'jobs +batch/v1 +true +Job' k api-resources
	h_expect "$kubectl api-resources cj" 'cronjobs +cj +batch/v1 +true +CronJob' k api-resources
	h_expect "$kubectl api-resources rc" \
		'replicationcontrollers +rc +v1 +true +ReplicationController' k api-resources

	# StatefulSet
	k create -f - <<'EOF2' >/dev/null || h_fail "create statefulset"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 2
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: nginx}]}
EOF2
	h_expect "$kubectl get sts" '^NAME +READY +AGE$' k get sts
	h_expect "$kubectl sts row" "^web +0/2 +$AGE\$" k get statefulset web
	h_expect "$kubectl sts wide" '^NAME +READY +AGE +CONTAINERS +IMAGES$' k get sts -o wide
	h_expect "$kubectl sts wide row" "^web +0/2 +$AGE +nginx +nginx\$" k get sts web -o wide
	h_expect "$kubectl sts defaults" '^OrderedReady RollingUpdate 0 10 Retain Retain Always$' \
		k get sts web -o jsonpath='{.spec.podManagementPolicy} {.spec.updateStrategy.type} {.spec.updateStrategy.rollingUpdate.partition} {.spec.revisionHistoryLimit} {.spec.persistentVolumeClaimRetentionPolicy.whenDeleted} {.spec.persistentVolumeClaimRetentionPolicy.whenScaled} {.spec.template.spec.restartPolicy}'
	h_expect "$kubectl sts scale" 'scaled' k scale sts web --replicas=3
	h_expect "$kubectl sts patch" 'patched' k patch sts web --type=merge \
		-p '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:2"}]}}}}'
	h_expect "$kubectl sts patched" '^3 nginx:2$' k get sts web \
		-o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].image}'
	invalid "sts selector" \
		'The StatefulSet "bad" is invalid: spec.template.metadata.labels: Invalid value: map\[string\]string\{"app":"other"\}: `selector` does not match template `labels`' \
		sts '{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"bad"},
		 "spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"other"}},
		 "spec":{"containers":[{"name":"c","image":"i"}]}}}}'
	invalid "sts empty selector" \
		'spec.selector: Invalid value: v1.LabelSelector\{MatchLabels:map\[string\]string\{\}, MatchExpressions:\[\]v1.LabelSelectorRequirement\(nil\)\}: empty selector is invalid for statefulset' \
		sts '{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"bad"},
		 "spec":{"selector":{"matchLabels":{}},"template":{"spec":{"containers":[{"name":"c","image":"i"}]}}}}'

	# ControllerRevision, owned by the StatefulSet
	local uid
	uid=$(k get sts web -o jsonpath='{.metadata.uid}')
	k create -f - <<EOF2 >/dev/null || h_fail "create controllerrevision"
{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"web-1",
 "ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"web","uid":"$uid","controller":true}]},
 "data":{"spec":{}},"revision":1}
EOF2
	h_expect "$kubectl get controllerrevisions" '^NAME +CONTROLLER +REVISION +AGE$' \
		k get controllerrevisions
	h_expect "$kubectl controllerrevision row" "^web-1 +statefulset.apps/web +1 +$AGE\$" \
		k get controllerrevision web-1
	invalid "controllerrevision revision" \
		'The ControllerRevision "bad" is invalid: revision: Invalid value: -1: must be greater than or equal to 0' \
		controllerrevision '{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"bad"},"revision":-1}'
	h_expect "$kubectl controllerrevision delete" 'deleted' k delete controllerrevision web-1
	h_expect "$kubectl sts delete" 'deleted' k delete sts web
	h_expect_fail "$kubectl sts gone" 'NotFound' k get sts web

	# DaemonSet
	k create -f - <<'EOF2' >/dev/null || h_fail "create daemonset"
{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent"},
 "spec":{"selector":{"matchLabels":{"app":"agent"}},"template":{"metadata":{"labels":{"app":"agent"}},
  "spec":{"nodeSelector":{"kubernetes.io/os":"linux"},"containers":[{"name":"a","image":"busybox"}]}}}}
EOF2
	h_expect "$kubectl get ds" \
		'^NAME +DESIRED +CURRENT +READY +UP-TO-DATE +AVAILABLE +NODE SELECTOR +AGE$' k get ds
	h_expect "$kubectl ds row" "^agent +0 +0 +0 +0 +0 +kubernetes.io/os=linux +$AGE\$" \
		k get daemonset agent
	h_expect "$kubectl ds wide" \
		"^agent +0 +0 +0 +0 +0 +kubernetes.io/os=linux +$AGE +a +busybox +app=agent\$" \
		k get ds agent -o wide
	h_expect "$kubectl ds defaults" '^RollingUpdate 1 0 10$' k get ds agent -o \
		jsonpath='{.spec.updateStrategy.type} {.spec.updateStrategy.rollingUpdate.maxUnavailable} {.spec.updateStrategy.rollingUpdate.maxSurge} {.spec.revisionHistoryLimit}'
	h_expect "$kubectl ds patch" 'patched' k patch ds agent --type=merge \
		-p '{"spec":{"template":{"spec":{"nodeSelector":null}}}}'
	h_expect "$kubectl ds patched" "^agent +0 +0 +0 +0 +0 +<none> +$AGE\$" k get ds agent
	invalid "ds restartPolicy" \
		'The DaemonSet "bad" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"' \
		ds '{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"bad"},
		 "spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},
		 "spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"i"}]}}}}'
	h_expect "$kubectl ds delete" 'deleted' k delete ds agent

	# Job, through the typed create command (a protobuf body)
	h_expect "$kubectl create job" 'created' k create job pi --image=perl -- perl -e 1
	h_expect "$kubectl get jobs" '^NAME +STATUS +COMPLETIONS +DURATION +AGE$' k get jobs
	h_expect "$kubectl job row" "^pi +Running +0/1 +$AGE\$" k get job pi
	h_expect "$kubectl job wide" \
		"^pi +Running +0/1 +$AGE +pi +perl +batch.kubernetes.io/controller-uid=[0-9a-f-]+\$" \
		k get job pi -o wide
	uid=$(k get job pi -o jsonpath='{.metadata.uid}')
	h_expect "$kubectl job defaults" '^1 1 6 NonIndexed false false TerminatingOrFailed Never$' \
		k get job pi -o jsonpath='{.spec.completions} {.spec.parallelism} {.spec.backoffLimit} {.spec.completionMode} {.spec.suspend} {.spec.manualSelector} {.spec.podReplacementPolicy} {.spec.template.spec.restartPolicy}'
	h_expect "$kubectl job selector" "^$uid $uid pi pi$uid\$" k get job pi -o \
		jsonpath='{.spec.template.metadata.labels.batch\.kubernetes\.io/controller-uid} {.spec.template.metadata.labels.controller-uid} {.spec.template.metadata.labels.job-name} {.spec.template.metadata.labels.batch\.kubernetes\.io/job-name}{.spec.selector.matchLabels.batch\.kubernetes\.io/controller-uid}'
	h_expect "$kubectl job patch" 'patched' k patch job pi --type=merge -p '{"spec":{"suspend":true}}'
	h_expect "$kubectl job patched" '^true$' k get job pi -o jsonpath='{.spec.suspend}'
	invalid "job restartPolicy" \
		'The Job "bad" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"' \
		job '{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"bad"},
		 "spec":{"template":{"spec":{"containers":[{"name":"c","image":"i"}]}}}}'
	h_expect "$kubectl job delete" 'deleted' k delete job pi

	# CronJob
	h_expect "$kubectl create cronjob" 'created' \
		k create cronjob tick --image=busybox --schedule='*/5 * * * *' -- date
	h_expect "$kubectl get cj" \
		'^NAME +SCHEDULE +TIMEZONE +SUSPEND +ACTIVE +LAST SCHEDULE +AGE$' k get cj
	h_expect "$kubectl cj row" "^tick +\*/5 \* \* \* \* +<none> +False +0 +<none> +$AGE\$" \
		k get cronjob tick
	h_expect "$kubectl cj wide" \
		"^tick +\*/5 \* \* \* \* +<none> +False +0 +<none> +$AGE +tick +busybox +<none>\$" \
		k get cj tick -o wide
	h_expect "$kubectl cj defaults" '^Allow false 3 1 OnFailure$' k get cj tick -o \
		jsonpath='{.spec.concurrencyPolicy} {.spec.suspend} {.spec.successfulJobsHistoryLimit} {.spec.failedJobsHistoryLimit} {.spec.jobTemplate.spec.template.spec.restartPolicy}'
	h_expect "$kubectl cj patch" 'patched' k patch cj tick --type=merge \
		-p '{"spec":{"suspend":true,"timeZone":"Etc/UTC"}}'
	h_expect "$kubectl cj patched" "^tick +\*/5 \* \* \* \* +Etc/UTC +True +0 +<none> +$AGE\$" \
		k get cj tick
	invalid "cj schedule" \
		'The CronJob "bad" is invalid: spec.schedule: Required value' \
		cj '{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"bad"},
		 "spec":{"jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"i"}]}}}}}}'
	invalid "cj bad schedule" \
		'spec.schedule: Invalid value: "hourly": expected exactly 5 fields, found 1: \[hourly\]' \
		cj '{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"bad"},
		 "spec":{"schedule":"hourly","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"i"}]}}}}}}'
	h_expect "$kubectl cj delete" 'deleted' k delete cj tick

	# ReplicationController: selector and labels default to the template's labels
	k create -f - <<'EOF2' >/dev/null || h_fail "create rc"
apiVersion: v1
kind: ReplicationController
metadata: {name: old}
spec:
  template:
    metadata: {labels: {app: old}}
    spec: {containers: [{name: nginx, image: nginx}]}
EOF2
	h_expect "$kubectl get rc" '^NAME +DESIRED +CURRENT +READY +AGE$' k get rc
	h_expect "$kubectl rc row" "^old +1 +0 +0 +$AGE\$" k get rc old
	h_expect "$kubectl rc wide" "^old +1 +0 +0 +$AGE +nginx +nginx +app=old\$" k get rc old -o wide
	h_expect "$kubectl rc defaults" '^old old Always$' k get rc old -o \
		jsonpath='{.spec.selector.app} {.metadata.labels.app} {.spec.template.spec.restartPolicy}'
	h_expect "$kubectl rc scale" 'scaled' k scale rc old --replicas=4
	h_expect "$kubectl rc scaled" "^old +4 +0 +0 +$AGE\$" k get rc old
	invalid "rc selector" \
		'The ReplicationController "bad" is invalid: spec.template.metadata.labels: Invalid value: map\[string\]string\{"app":"y"\}: `selector` does not match template `labels`' \
		rc '{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"bad"},
		 "spec":{"selector":{"app":"x"},"template":{"metadata":{"labels":{"app":"y"}},
		 "spec":{"containers":[{"name":"c","image":"i"}]}}}}'
	h_expect "$kubectl rc delete" 'deleted' k delete rc old
}

for kubectl in /usr/bin/kubectl "$SDK/kubectl.1.27" "$SDK/kubectl.1.33"; do
	k() { "$kubectl" --server="$H_API" -n default "$@"; }
	workloads
done
echo "PASS"

/* lifecycle: a container instance from its image to its removal, as upstream's
 * kuberuntime_container.go runs it: the image made present per imagePullPolicy (with
 * ErrImagePull / ImagePullBackOff and a back-off per image), the objects its environment
 * references fetched, CreateContainer and StartContainer with the config of
 * container_config.c; StopContainer; RemoveContainer; and the termination message of an
 * instance that exited.
 *
 * Hooks: lifecycle.postStart and lifecycle.preStop are not run yet. Their places are
 * marked where upstream runs them: postStart right after StartContainer (a failure kills
 * the container: FailedPostStartHook), preStop before StopContainer, within the grace
 * period. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "kubelet.h"

int64_t kl_backoff_ms(int n)
{
	int64_t d = KL_BACKOFF_BASE_MS;
	for (int i = 1; i < n && d < KL_BACKOFF_MAX_MS; i++)
		d *= 2;
	return d < KL_BACKOFF_MAX_MS ? d : KL_BACKOFF_MAX_MS;
}

/* ---- images ---- */

static const char *pull_policy(const cJSON *c)
{
	const char *p = ck_json_get_str(c, "imagePullPolicy", NULL);
	if (p && *p)
		return p;
	/* Upstream's default: Always for :latest or no tag, IfNotPresent otherwise. */
	const char *image = ck_json_get_str(c, "image", "");
	const char *slash = strrchr(image, '/');
	const char *last = slash ? slash + 1 : image;
	if (strchr(last, '@'))
		return "IfNotPresent";
	const char *colon = strrchr(last, ':');
	if (!colon || !strcmp(colon, ":latest"))
		return "Always";
	return "IfNotPresent";
}

static kl_pull_backoff *pull_backoff(pod_state *st, const char *image, bool create)
{
	for (kl_pull_backoff *b = st->pulls; b; b = b->next)
		if (!strcmp(b->image, image))
			return b;
	if (!create)
		return NULL;
	kl_pull_backoff *b = ck_calloc(1, sizeof(*b));
	b->image = ck_strdup(image);
	b->next = st->pulls;
	st->pulls = b;
	return b;
}

static void pull_backoff_forget(pod_state *st, const char *image)
{
	for (kl_pull_backoff **p = &st->pulls; *p; p = &(*p)->next) {
		if (!strcmp((*p)->image, image)) {
			kl_pull_backoff *b = *p;
			*p = b->next;
			free(b->image);
			free(b->message);
			free(b);
			return;
		}
	}
}

bool lifecycle_ensure_image(kl_sync *x, const cJSON *c)
{
	const char *name = ck_json_get_str(c, "name", "");
	const char *image = ck_json_get_str(c, "image", "");
	const char *policy = pull_policy(c);
	cri_result r = {0};
	if (strcmp(policy, "Always")) {
		cri_image_status(x->cri, image, cri_result_on_image, &r);
		bool present = r.rc == 0 && r.image;
		cri_result_clear(&r);
		if (present) {
			kl_sync_add_event(x, name, "Normal", "Pulled",
			                  "Container image \"%s\" already present on machine",
			                  image);
			return true;
		}
		if (!strcmp(policy, "Never")) {
			_cleanup_free_ char *m = ck_asprintf(
			    "Container image \"%s\" is not present with pull policy of Never",
			    image);
			kl_sync_add_waiting(x, name, "ErrImageNeverPull", m);
			kl_sync_add_event(x, name, "Warning", "ErrImageNeverPull", "%s", m);
			kl_sync_requeue(x, KL_BACKOFF_MAX_MS);
			return false;
		}
	}
	int64_t now = kl_now_ms();
	kl_pull_backoff *b = pull_backoff(x->st, image, false);
	if (b && now < b->next_ms) {
		_cleanup_free_ char *m = ck_asprintf("Back-off pulling image \"%s\"", image);
		kl_sync_add_waiting(x, name, "ImagePullBackOff", m);
		kl_sync_add_event(x, name, "Normal", "BackOff", "%s", m);
		kl_sync_requeue(x, b->next_ms - now);
		return false;
	}
	kl_sync_add_event(x, name, "Normal", "Pulling", "Pulling image \"%s\"", image);
	cri_pull_image(x->cri, image, &x->sb.c, cri_result_on_id, &r);
	int64_t took = kl_now_ms() - now;
	if (r.rc == 0) {
		kl_sync_add_event(x, name, "Normal", "Pulled",
		                  "Successfully pulled image \"%s\" in %lldms", image,
		                  (long long)took);
		pull_backoff_forget(x->st, image);
		cri_result_clear(&r);
		return true;
	}
	b = pull_backoff(x->st, image, true);
	b->failures++;
	b->next_ms = kl_now_ms() + kl_backoff_ms(b->failures);
	free(b->message);
	const char *m = cri_result_msg(&r);
	b->message = ck_strdup(m ? m : "pull failed");
	kl_sync_add_event(x, name, "Warning", "Failed", "Failed to pull image \"%s\": %s", image,
	                  b->message);
	kl_sync_add_event(x, name, "Warning", "Failed", "Error: ErrImagePull");
	kl_sync_add_waiting(x, name, "ErrImagePull", b->message);
	kl_sync_requeue(x, b->next_ms - kl_now_ms());
	cri_result_clear(&r);
	return false;
}

/* ---- start ---- */

/* The instance's termination message file, created empty (world-writable: the container
 * may run as any user). NULL when it cannot be made. */
static char *termination_file(const kl_sync *x, const char *name, uint32_t attempt)
{
	char *path = kl_termination_path(x->cfg, x->uid, name, attempt);
	char *slash = strrchr(path, '/');
	*slash = 0;
	int r = kl_mkdir_p(path, 0755);
	*slash = '/';
	int fd = r < 0 ? -1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		free(path);
		return NULL;
	}
	fchmod(fd, 0666);
	close(fd);
	return path;
}

/* Records the failed CRI call of a container's start (its event, waiting reason and the
 * sync's error) and clears r. */
static void start_failed(kl_sync *x, const char *name, const char *call, const char *reason,
                         cri_result *r)
{
	const char *m = cri_result_msg(r);
	kl_sync_add_event(x, name, "Warning", "Failed", "Error: %s", m);
	kl_sync_add_waiting(x, name, reason, m);
	kl_sync_error(x, "%s %s: %s", call, name, m);
	cri_result_clear(r);
}

void lifecycle_start(kl_sync *x, const cJSON *c, uint32_t attempt)
{
	const char *name = ck_json_get_str(c, "name", "");
	objects_fetch_env(x, c);
	sandbox_ip(x);
	_cleanup_free_ char *tm = termination_file(x, name, attempt);
	kl_container_config cc;
	_cleanup_free_ char *error = NULL;
	if (container_config_build(x, c, attempt, tm, &cc, &error) < 0) {
		kl_sync_add_event(x, name, "Warning", "Failed", "Error: %s", error);
		kl_sync_add_waiting(x, name, "CreateContainerConfigError", error);
		kl_sync_requeue(x, 5000);
		return;
	}
	volumes_prepare_mounts(cc.c.mounts, cc.c.n_mounts);
	cri_result r = {0};
	cri_create_container(x->cri, x->sid, &cc.c, &x->sb.c, cri_result_on_id, &r);
	container_config_clear(&cc);
	if (r.rc < 0) {
		start_failed(x, name, "CreateContainer", "CreateContainerError", &r);
		return;
	}
	_cleanup_free_ char *cid = CK_TAKE_PTR(r.id);
	cri_result_clear(&r);
	/* What a fresh pod's status is computed from, without listing the runtime. */
	kl_runtime_pod *m = &x->made;
	m->containers = ck_realloc(m->containers, (m->n_containers + 1) * sizeof(*m->containers));
	m->containers[m->n_containers++] =
	    (cri_container){.id = ck_strdup(cid), .sandbox_id = ck_strdup(x->sid)};
	kl_sync_add_event(x, name, "Normal", "Created", "Created container %s", name);
	cri_start_container(x->cri, cid, cri_result_on_done, &r);
	if (r.rc < 0) {
		start_failed(x, name, "StartContainer", "RunContainerError", &r);
		return;
	}
	cri_result_clear(&r);
	kl_sync_add_event(x, name, "Normal", "Started", "Started container %s", name);
	/* The postStart hook goes here. */
}

void lifecycle_start_created(kl_sync *x, const cri_container *c)
{
	cri_result r = {0};
	cri_start_container(x->cri, c->id, cri_result_on_done, &r);
	if (r.rc == 0)
		kl_sync_add_event(x, c->name, "Normal", "Started", "Started container %s", c->name);
	else
		kl_sync_error(x, "StartContainer %s: %s", c->name, cri_result_msg(&r));
	cri_result_clear(&r);
}

/* ---- stop and remove ---- */

void lifecycle_kill(kl_sync *x, const cri_container *c, int64_t grace_s, bool event)
{
	if (event)
		kl_sync_add_event(x, c->name, "Normal", "Killing", "Stopping container %s",
		                  c->name);
	/* The preStop hook goes here, within grace_s. */
	cri_result r = {0};
	cri_stop_container(x->cri, c->id, grace_s, cri_result_on_done, &r);
	if (r.rc < 0 && r.rc != -ENOENT)
		kl_sync_error(x, "StopContainer %s: %s", c->id, cri_result_msg(&r));
	cri_result_clear(&r);
}

void lifecycle_remove(kl_sync *x, const char *id)
{
	cri_result r = {0};
	cri_remove_container(x->cri, id, cri_result_on_done, &r);
	cri_result_clear(&r);
}

/* ---- termination messages ---- */

/* The end of a file, at most max bytes (at most max_lines lines). malloc'd or NULL. */
static char *read_tail(const char *path, size_t max, int max_lines)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size <= 0)
		return NULL;
	off_t from = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
	char *buf = ck_malloc(max + 1);
	ssize_t n = pread(fd, buf, max, from);
	if (n <= 0) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	if (max_lines > 0) {
		char *p = buf + n;
		int lines = 0;
		if (p > buf && p[-1] == '\n')
			p--;
		while (p > buf && !(p[-1] == '\n' && ++lines == max_lines))
			p--;
		memmove(buf, p, strlen(p) + 1);
	}
	return buf;
}

/* The content of the last CRI log lines of path (80 lines, 2 KiB at most, as upstream's
 * FallbackToLogsOnError). malloc'd or NULL. */
static char *log_tail(const char *path)
{
	_cleanup_free_ char *raw = read_tail(path, 8192, 80);
	if (!raw)
		return NULL;
	ck_buf b = {0};
	for (char *line = raw, *next; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		else
			next = line + strlen(line);
		/* "<time> <stream> <tag> <content>": keep the content. */
		char *content = line;
		for (int f = 0; f < 3 && content; f++) {
			content = strchr(content, ' ');
			if (content)
				content++;
		}
		if (content) {
			ck_buf_puts(&b, content);
			ck_buf_putc(&b, '\n');
		}
	}
	char *msg = ck_buf_steal(&b);
	if (msg && strlen(msg) > 2048)
		memmove(msg, msg + strlen(msg) - 2048, 2049);
	return msg;
}

static const cJSON *container_spec(const cJSON *pod, const char *name)
{
	const cJSON *x;
	cJSON_ArrayForEach(x, ck_json_get(pod, "spec.containers"))
	{
		if (!strcmp(ck_json_get_str(x, "name", ""), name))
			return x;
	}
	return NULL;
}

void lifecycle_termination_messages(const kl_sync *x, kl_runtime_pod *rp)
{
	for (size_t i = 0; i < rp->n_containers; i++) {
		cri_container *c = &rp->containers[i];
		if (c->state != CRI_CONTAINER_EXITED || (c->message && *c->message) ||
		    strcmp(kl_label(c->labels, KL_LABEL_POD_UID), x->uid))
			continue;
		_cleanup_free_ char *path =
		    kl_termination_path(x->cfg, x->uid, c->name, c->attempt);
		char *msg = read_tail(path, 4096, 0);
		const cJSON *spec = container_spec(x->pod, c->name);
		if ((!msg || !*msg) && c->exit_code != 0 && c->log_path && spec &&
		    !strcmp(ck_json_get_str(spec, "terminationMessagePolicy", "File"),
		            "FallbackToLogsOnError")) {
			free(msg);
			msg = log_tail(c->log_path);
		}
		if (msg && *msg) {
			free(c->message);
			c->message = msg;
		} else {
			free(msg);
		}
	}
}

#include "net/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static const unsigned char tls_alpn_ours[] = "\x08http/1.1";

#define TLS_RESUME_MAX 8 /* client: peers (host:port) whose last session is kept */

/* A client's last session with one peer. */
typedef struct tls_resume {
	char *peer; /* "host:port" */
	SSL_SESSION *sess;
} tls_resume;

struct tls_ctx {
	SSL_CTX *ctx;
	int refs;         /* tls_ctx_free's and one per session */
	bool verify_host; /* client: check the server's certificate against the host */
	tls_resume resume[TLS_RESUME_MAX]; /* client: most recently stored first */
	size_t n_resume;
};

struct tls_session {
	SSL *ssl;
	BIO *rbio; /* ciphertext from the peer */
	BIO *wbio; /* ciphertext for the peer */
	tls_ctx *ctx;
	char *peer; /* client: "host:port", the key of its sessions in ctx->resume */
	char err[200];
};

/* Stores an error with OpenSSL's first queued reason and clears the (thread-local) queue. */
static int tls_fail(ck_err **err, const char *what, const char *file)
{
	char reason[256] = "unknown error";
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	if (file)
		return ck_err_set(err, CK_EPROTO, "%s %s: %s", what, file, reason);
	return ck_err_set(err, CK_EPROTO, "%s: %s", what, reason);
}

static int tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                           const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel = NULL;
	if (SSL_select_next_proto(&sel, outlen, tls_alpn_ours, sizeof(tls_alpn_ours) - 1, in,
	                          inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* OpenSSL's decrypt_session_ticket_cb: the default answers, except that a session whose
 * client certificate has expired since is not resumed (the client authenticates again in
 * a full handshake, as with Go's server). */
static SSL_TICKET_RETURN tls_ticket_check(SSL *ssl, SSL_SESSION *sess, const unsigned char *name,
                                          size_t name_len, SSL_TICKET_STATUS status, void *arg)
{
	if (status != SSL_TICKET_SUCCESS && status != SSL_TICKET_SUCCESS_RENEW)
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	X509 *peer = SSL_SESSION_get0_peer(sess);
	if (peer && X509_cmp_current_time(X509_get0_notAfter(peer)) <= 0)
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
}

static void ssl_session_freep(SSL_SESSION **p)
{
	SSL_SESSION_free(*p);
}

static void ssl_ctx_freep(SSL_CTX **p)
{
	SSL_CTX_free(*p);
}

int tls_server_ctx_new(const char *cert_file, const char *key_file, const char *client_ca_file,
                       tls_ctx **out, ck_err **err)
{
	static const unsigned char sid_ctx[] = "ckube";
	_cleanup_(ssl_ctx_freep) SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return tls_fail(err, "create TLS context", NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Thousands of idle connections: drop the record buffers between reads. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, NULL);
	/* Resumption by session tickets only, each checked by tls_ticket_check: no cache of
	 * TLS 1.2 sessions by id (nor its memory). */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_ticket_cb(ctx, NULL, tls_ticket_check, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
		return tls_fail(err, "load certificate", cert_file);
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1)
		return tls_fail(err, "load private key", key_file);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tls_fail(err, "private key does not match certificate", cert_file);
	if (client_ca_file && *client_ca_file) {
		if (SSL_CTX_load_verify_locations(ctx, client_ca_file, NULL) != 1)
			return tls_fail(err, "load client CA", client_ca_file);
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca_file);
		if (!names)
			return tls_fail(err, "read client CA names", client_ca_file);
		SSL_CTX_set_client_CA_list(ctx, names);
		/* Request, not require: without FAIL_IF_NO_PEER_CERT a client may send
		 * none, but one it sends must verify. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	}
	tls_ctx *t = ck_calloc(1, sizeof(*t));
	t->ctx = CK_TAKE_PTR(ctx);
	t->refs = 1;
	*out = t;
	return 0;
}

static void bio_freep(BIO **p)
{
	BIO_free(*p);
}

static void x509_freep(X509 **p)
{
	X509_free(*p);
}

static void pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

/* Adds every certificate of PEM text to the trusted store. */
static int tls_trust_pem(SSL_CTX *ctx, const char *pem, ck_err **err)
{
	_cleanup_(bio_freep) BIO *b = BIO_new_mem_buf(pem, -1);
	if (!b)
		return tls_fail(err, "read CA data", NULL);
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	int n = 0;
	for (;;) {
		_cleanup_(x509_freep) X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		if (!x)
			break;
		if (X509_STORE_add_cert(store, x) != 1)
			return tls_fail(err, "add CA certificate", NULL);
		n++;
	}
	ERR_clear_error(); /* the end of the text reads as "no start line" */
	if (!n)
		return ck_err_set(err, CK_EPROTO, "load CA data: no certificate in it");
	return 0;
}

/* Uses PEM text as our certificate: the first one, then its chain. */
static int tls_use_cert_pem(SSL_CTX *ctx, const char *pem, ck_err **err)
{
	_cleanup_(bio_freep) BIO *b = BIO_new_mem_buf(pem, -1);
	_cleanup_(x509_freep) X509 *leaf = b ? PEM_read_bio_X509_AUX(b, NULL, NULL, NULL) : NULL;
	if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1)
		return tls_fail(err, "load client certificate data", NULL);
	for (;;) {
		X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		if (!x)
			break;
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			return tls_fail(err, "add client certificate chain", NULL);
		}
	}
	ERR_clear_error();
	return 0;
}

static int tls_use_key_pem(SSL_CTX *ctx, const char *pem, ck_err **err)
{
	_cleanup_(bio_freep) BIO *b = BIO_new_mem_buf(pem, -1);
	_cleanup_(pkey_freep) EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	if (!k || SSL_CTX_use_PrivateKey(ctx, k) != 1)
		return tls_fail(err, "load client key data", NULL);
	return 0;
}

static tls_resume *tls_resume_find(tls_ctx *ctx, const char *peer)
{
	for (size_t i = 0; i < ctx->n_resume; i++)
		if (!strcmp(ctx->resume[i].peer, peer))
			return &ctx->resume[i];
	return NULL;
}

static void tls_resume_remove(tls_ctx *ctx, size_t i)
{
	free(ctx->resume[i].peer);
	SSL_SESSION_free(ctx->resume[i].sess);
	memmove(&ctx->resume[i], &ctx->resume[i + 1],
	        (ctx->n_resume - i - 1) * sizeof(*ctx->resume));
	ctx->n_resume--;
}

/* Forgets the session kept for peer, if any. */
static void tls_resume_drop(tls_ctx *ctx, const char *peer)
{
	tls_resume *e = tls_resume_find(ctx, peer);
	if (e)
		tls_resume_remove(ctx, (size_t)(e - ctx->resume));
}

/* OpenSSL's new_session_cb: a client connection got a session (a TLS 1.3 ticket arrives
 * after the handshake, possibly several). The last one replaces what its peer had; the
 * least recently stored peer gives way when the cache is full. A copy is kept: OpenSSL
 * marks a connection's own session not resumable when the connection is freed without
 * the close_notify of a clean shutdown (a stream the client stops, an idle connection it
 * drops), and that must not spoil what the next connections offer. Returns 0: OpenSSL
 * keeps its reference to sess. */
static int tls_resume_store(SSL *ssl, SSL_SESSION *sess)
{
	tls_session *s = SSL_get_app_data(ssl);
	if (!SSL_SESSION_is_resumable(sess))
		return 0;
	SSL_SESSION *copy = SSL_SESSION_dup(sess);
	if (!copy)
		return 0;
	tls_ctx *ctx = s->ctx;
	tls_resume_drop(ctx, s->peer);
	if (ctx->n_resume == TLS_RESUME_MAX)
		tls_resume_remove(ctx, TLS_RESUME_MAX - 1);
	memmove(ctx->resume + 1, ctx->resume, ctx->n_resume * sizeof(*ctx->resume));
	ctx->resume[0] = (tls_resume){.peer = ck_strdup(s->peer), .sess = copy};
	ctx->n_resume++;
	return 0;
}

int tls_client_ctx_new(const tls_client_opts *o, tls_ctx **out, ck_err **err)
{
	_cleanup_(ssl_ctx_freep) SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return tls_fail(err, "create TLS context", NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	/* Idle pooled connections: no record buffers between reads. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_alpn_protos(ctx, tls_alpn_ours, sizeof(tls_alpn_ours) - 1) != 0)
		return tls_fail(err, "set ALPN", NULL);
	int r = 0;
	if (o->ca_pem)
		r = tls_trust_pem(ctx, o->ca_pem, err);
	else if (o->ca_file && SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1)
		r = tls_fail(err, "load CA", o->ca_file);
	else if (!o->ca_file && !o->insecure_skip_verify &&
	         SSL_CTX_set_default_verify_paths(ctx) != 1)
		r = tls_fail(err, "load the system CA store", NULL);
	if (r < 0)
		return r;
	if (o->cert_pem)
		r = tls_use_cert_pem(ctx, o->cert_pem, err);
	else if (o->cert_file && SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1)
		r = tls_fail(err, "load client certificate", o->cert_file);
	if (r < 0)
		return r;
	if (o->key_pem)
		r = tls_use_key_pem(ctx, o->key_pem, err);
	else if (o->key_file &&
	         SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1)
		r = tls_fail(err, "load client key", o->key_file);
	if (r < 0)
		return r;
	if ((o->cert_pem || o->cert_file) && SSL_CTX_check_private_key(ctx) != 1)
		return tls_fail(err, "client key does not match certificate", o->cert_file);
	SSL_CTX_set_verify(ctx, o->insecure_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	/* Sessions go to tls_resume_store only: OpenSSL keeps no client cache of its own. */
	SSL_CTX_set_session_cache_mode(ctx,
	                               SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, tls_resume_store);
	tls_ctx *t = ck_calloc(1, sizeof(*t));
	t->ctx = CK_TAKE_PTR(ctx);
	t->refs = 1;
	t->verify_host = !o->insecure_skip_verify;
	*out = t;
	return 0;
}

tls_ctx *tls_ctx_free(tls_ctx *ctx)
{
	if (ctx && --ctx->refs == 0) {
		while (ctx->n_resume)
			tls_resume_remove(ctx, ctx->n_resume - 1);
		SSL_CTX_free(ctx->ctx);
		free(ctx);
	}
	return NULL;
}

static tls_session *tls_session_alloc(tls_ctx *ctx)
{
	tls_session *s = ck_calloc(1, sizeof(*s));
	s->ctx = ctx;
	ctx->refs++;
	s->ssl = SSL_new(ctx->ctx);
	s->rbio = BIO_new(BIO_s_mem());
	s->wbio = BIO_new(BIO_s_mem());
	if (!s->ssl || !s->rbio || !s->wbio)
		abort();
	/* An empty input BIO means "wait for more", not end of file. */
	BIO_set_mem_eof_return(s->rbio, -1);
	SSL_set_bio(s->ssl, s->rbio, s->wbio);
	SSL_set_app_data(s->ssl, s);
	return s;
}

tls_session *tls_session_new(tls_ctx *ctx)
{
	tls_session *s = tls_session_alloc(ctx);
	SSL_set_accept_state(s->ssl);
	return s;
}

tls_session *tls_client_session_new(tls_ctx *ctx, const char *host, int port)
{
	tls_session *s = tls_session_alloc(ctx);
	s->peer = ck_asprintf("%s:%d", host, port);
	unsigned char addr[sizeof(struct in6_addr)];
	bool ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
	/* SNI names a host; RFC 6066 forbids IP addresses in it. */
	if (!ip && SSL_set_tlsext_host_name(s->ssl, host) != 1)
		abort();
	if (ctx->verify_host) {
		X509_VERIFY_PARAM *p = SSL_get0_param(s->ssl);
		X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if ((ip ? X509_VERIFY_PARAM_set1_ip_asc(p, host)
		        : X509_VERIFY_PARAM_set1_host(p, host, 0)) != 1)
			abort();
	}
	/* The connection gets a copy of the kept session, for the reason given at
	 * tls_resume_store: it could spoil the one it was given. */
	const tls_resume *e = tls_resume_find(ctx, s->peer);
	_cleanup_(ssl_session_freep) SSL_SESSION *offer = e ? SSL_SESSION_dup(e->sess) : NULL;
	if (offer && SSL_set_session(s->ssl, offer) != 1)
		abort();
	SSL_set_connect_state(s->ssl);
	return s;
}

/* Keeps the reason of a failure for tls_session_error and clears OpenSSL's queue. */
static void tls_note_failure(tls_session *s)
{
	long v = SSL_get_verify_result(s->ssl);
	unsigned long e = ERR_peek_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	if (v != X509_V_OK)
		snprintf(s->err, sizeof(s->err), "certificate verify failed: %s",
		         X509_verify_cert_error_string(v));
	else
		snprintf(s->err, sizeof(s->err), "%s", reason ? reason : "TLS failure");
	ERR_clear_error();
}

const char *tls_session_error(const tls_session *s)
{
	return s->err;
}

tls_session *tls_session_free(tls_session *s)
{
	if (s) {
		SSL_free(s->ssl); /* frees both BIOs */
		tls_ctx_free(s->ctx);
		free(s->peer);
		free(s);
	}
	return NULL;
}

int tls_session_feed(tls_session *s, const void *data, size_t len)
{
	while (len) {
		int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
		int n = BIO_write(s->rbio, data, chunk);
		if (n <= 0)
			return -ENOMEM;
		data = (const char *)data + n;
		len -= (size_t)n;
	}
	return 0;
}

int tls_session_read(tls_session *s, void *buf, size_t cap)
{
	int want = cap > (1u << 30) ? (1 << 30) : (int)cap;
	int n = SSL_read(s->ssl, buf, want);
	if (n > 0)
		return n;
	switch (SSL_get_error(s->ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		SSL_shutdown(s->ssl); /* answer the peer's close_notify with ours */
		ERR_clear_error();
		return -ECONNRESET;
	default:
		tls_note_failure(s);
		/* The session offered (if any) may be what the server refused. */
		if (s->peer && !SSL_is_init_finished(s->ssl))
			tls_resume_drop(s->ctx, s->peer);
		return CK_EPROTO;
	}
}

int tls_session_write(tls_session *s, const void *data, size_t len)
{
	while (len) {
		int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
		int n = SSL_write(s->ssl, data, chunk);
		if (n <= 0) {
			ERR_clear_error();
			return CK_EPROTO;
		}
		data = (const char *)data + n;
		len -= (size_t)n;
	}
	return 0;
}

void tls_session_close_notify(tls_session *s)
{
	if (SSL_is_init_finished(s->ssl))
		SSL_shutdown(s->ssl);
	ERR_clear_error();
}

size_t tls_session_out_pending(const tls_session *s)
{
	return BIO_ctrl_pending(s->wbio);
}

size_t tls_session_out_take(tls_session *s, void *buf, size_t cap)
{
	int want = cap > (1u << 30) ? (1 << 30) : (int)cap;
	int n = BIO_read(s->wbio, buf, want);
	return n > 0 ? (size_t)n : 0;
}

bool tls_session_handshake_done(const tls_session *s)
{
	return SSL_is_init_finished(s->ssl);
}

bool tls_session_resumed(const tls_session *s)
{
	return SSL_session_reused(s->ssl);
}

static char *tls_entry_utf8(X509_NAME *name, int idx)
{
	X509_NAME_ENTRY *e = X509_NAME_get_entry(name, idx);
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
	if (n < 0)
		return NULL;
	char *s = ck_strndup((const char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return s;
}

int tls_session_peer(const tls_session *s, char **cn, char ***groups)
{
	*cn = NULL;
	*groups = NULL;
	X509 *cert = SSL_get1_peer_certificate(s->ssl);
	if (!cert)
		return 0;
	if (SSL_get_verify_result(s->ssl) != X509_V_OK) {
		X509_free(cert);
		return 0;
	}
	X509_NAME *name = X509_get_subject_name(cert);
	int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (idx >= 0)
		*cn = tls_entry_utf8(name, idx);
	size_t n = 0;
	char **g = NULL;
	for (idx = -1; (idx = X509_NAME_get_index_by_NID(name, NID_organizationName, idx)) >= 0;) {
		char *v = tls_entry_utf8(name, idx);
		if (!v)
			continue;
		g = ck_realloc(g, (n + 2) * sizeof(*g));
		g[n++] = v;
		g[n] = NULL;
	}
	*groups = g;
	X509_free(cert);
	return 1;
}

char **tls_groups_free(char **groups)
{
	if (groups) {
		for (char **g = groups; *g; g++)
			free(*g);
		free(groups);
	}
	return NULL;
}

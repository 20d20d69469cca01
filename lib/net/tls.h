/* tls: OpenSSL server sessions over memory BIOs, for sockets driven by libuv.
 *
 * The owner of the socket feeds ciphertext in (tls_session_feed), reads plaintext out
 * (tls_session_read, which also drives the handshake), writes plaintext
 * (tls_session_write) and moves the ciphertext OpenSSL produced to the socket
 * (tls_session_out_pending / tls_session_out_take). No socket is touched here.
 * Client certificates: when a client CA file is given, a certificate is requested (not
 * required); one that is presented must verify against that CA or the handshake fails. */
#ifndef CK_NET_TLS_H
#define CK_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

typedef struct tls_ctx tls_ctx;
typedef struct tls_session tls_session;

/* Loads a PEM certificate chain and key (and optionally a client CA bundle) into a server
 * context: TLS 1.2 and later, ALPN "http/1.1". Returns 0 and *out, or a negative code
 * with *err naming the file that failed. */
int tls_server_ctx_new(const char *cert_file, const char *key_file, const char *client_ca_file,
                       tls_ctx **out, ck_err **err);
/* Frees ctx (sessions created from it keep their own reference); accepts NULL; returns NULL. */
tls_ctx *tls_ctx_free(tls_ctx *ctx);

/* A server-side session in accept state. Never NULL (allocation failure aborts). */
tls_session *tls_session_new(tls_ctx *ctx);
/* Frees s; accepts NULL; returns NULL. */
tls_session *tls_session_free(tls_session *s);

/* Hands ciphertext received from the peer to the session. Returns 0 or -ENOMEM. */
int tls_session_feed(tls_session *s, const void *data, size_t len);
/* Decrypts into buf: returns the number of plaintext bytes (> 0), 0 when more input is
 * needed, -ECONNRESET when the peer sent close_notify (ours is then queued as output), CK_EPROTO on
 * a TLS failure (handshake or verification). Call until it returns <= 0; then move the output. */
int tls_session_read(tls_session *s, void *buf, size_t cap);
/* Encrypts len bytes (all of them, after the handshake). Returns 0 or CK_EPROTO. */
int tls_session_write(tls_session *s, const void *data, size_t len);
/* Queues a close_notify alert. */
void tls_session_close_notify(tls_session *s);
/* Ciphertext waiting to be sent, and taking up to cap bytes of it (returns the count). */
size_t tls_session_out_pending(const tls_session *s);
size_t tls_session_out_take(tls_session *s, void *buf, size_t cap);
/* True once the handshake completed. */
bool tls_session_handshake_done(const tls_session *s);
/* The verified client certificate's subject CN and O= entries. Returns 1 and sets *cn
 * (malloc'd, may be NULL when the subject has no CN) and *groups (malloc'd
 * NULL-terminated array of malloc'd strings, NULL when none); returns 0 when no verified
 * client certificate was presented. Free with tls_groups_free. */
int tls_session_peer(const tls_session *s, char **cn, char ***groups);
/* Frees a NULL-terminated string array; accepts NULL; returns NULL. */
char **tls_groups_free(char **groups);

#endif

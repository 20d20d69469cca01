/* bench_http_server: a tiny server for bench/http/run. Answers every request with a
 * ~100-byte JSON body. Usage: bench_http_server [PORT [CERT KEY]] (port 0 or none: a free
 * port; with CERT and KEY: TLS). Prints "port N" once listening; runs until killed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "net/http_server.h"

static const char body[] = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                           "\"status\":\"Success\",\"message\":\"ok\",\"code\":200}";

static void handle(http_exchange *x, void *data)
{
	http_respond(x, 200, "application/json", body, sizeof(body) - 1);
}

int main(int argc, char **argv)
{
	http_server_opts opts = {.bind_address = "127.0.0.1"};
	if (argc > 1) {
		char *end = NULL;
		long p = strtol(argv[1], &end, 10);
		if (!end || *end || p < 0 || p > 65535) {
			fprintf(stderr, "bench_http_server: invalid port %s\n", argv[1]);
			return 2;
		}
		opts.port = (int)p;
	}
	if (argc > 3) {
		opts.tls_cert_file = argv[2];
		opts.tls_key_file = argv[3];
	}
	uv_loop_t *loop = uv_default_loop();
	http_server *s = NULL;
	_cleanup_err_ ck_err *err = NULL;
	if (http_server_new(loop, &opts, handle, NULL, &s, &err) < 0) {
		fprintf(stderr, "bench_http_server: %s\n", err->msg);
		return 1;
	}
	printf("port %d\n", http_server_port(s));
	fflush(stdout);
	return uv_run(loop, UV_RUN_DEFAULT);
}

/*
 * cors.c: cross-origin resource sharing from the [cors] configuration. An
 * allowed Origin is echoed (or "*" when every origin is allowed without
 * credentials); an origin not allowed gets no Access-Control-Allow-Origin,
 * which is how a browser is told no.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "paddock.h"

static void
cors_join(const struct bb_strv *sv, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < sv->n && off < len; i++)
		off += (size_t)snprintf(
		    buf + off, len - off, "%s%s", i ? ", " : "", sv->v[i]);
}

/* The Access-Control-Allow-Origin value for origin, or NULL: not allowed. */
static const char *
cors_allowed(const struct bb_conf *c, const char *origin)
{
	int i;

	if (origin == NULL || *origin == '\0')
		return NULL;
	for (i = 0; i < c->cors.allow_origins.n; i++) {
		if (strcmp(c->cors.allow_origins.v[i], "*") == 0)
			return c->cors.allow_credentials ? origin : "*";
		if (strcasecmp(c->cors.allow_origins.v[i], origin) == 0)
			return origin;
	}
	return NULL;
}

/* Origin is reflected unescaped into a header: refuse CR, LF and NUL. */
static int
cors_origin_sane(const char *origin)
{
	return origin != NULL && strlen(origin) < 256 &&
	       strpbrk(origin, "\r\n") == NULL;
}

/* Headers for an actual (non-preflight) request from an allowed origin. */
void
cors_headers(struct request *req)
{
	const struct bb_conf *c = &req->app->conf;
	const char *allow;
	char list[512];

	if (c->cors.allow_origins.n == 0)
		return;
	allow =
	    cors_origin_sane(req->origin) ? cors_allowed(c, req->origin) : NULL;
	/* The answer depends on Origin unless every origin gets "*". */
	if (allow == NULL || strcmp(allow, "*") != 0)
		request_header(req, "Vary: Origin");
	if (allow == NULL)
		return;
	request_header(req, "Access-Control-Allow-Origin: %s", allow);
	if (c->cors.allow_credentials)
		request_header(req, "Access-Control-Allow-Credentials: true");
	if (c->cors.expose_headers.n > 0) {
		cors_join(&c->cors.expose_headers, list, sizeof list);
		request_header(req, "Access-Control-Expose-Headers: %s", list);
	}
}

/*
 * OPTIONS on a known path: 204 with Allow, plus the preflight answer when
 * the origin is allowed. cors_headers() adds the origin part at reply.
 */
void
cors_preflight(struct request *req, const char *allow)
{
	const struct bb_conf *c = &req->app->conf;
	const char *asked;
	char list[512];

	request_header(req, "Allow: %s", allow);
	asked = conn_param(req->conn, "HTTP_ACCESS_CONTROL_REQUEST_METHOD");
	if (asked != NULL && cors_origin_sane(req->origin) &&
	    cors_allowed(c, req->origin) != NULL) {
		cors_join(&c->cors.allow_methods, list, sizeof list);
		request_header(req, "Access-Control-Allow-Methods: %s", list);
		cors_join(&c->cors.allow_headers, list, sizeof list);
		if (list[0] != '\0')
			request_header(
			    req, "Access-Control-Allow-Headers: %s", list);
		request_header(
		    req, "Access-Control-Max-Age: %d", c->cors.max_age);
	}
	reply_empty(req, 204);
}

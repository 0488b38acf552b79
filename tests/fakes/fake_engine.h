/* A fake Docker Engine API server for fault injection in unit tests: libmicrohttpd,
 * one thread per connection, on a Unix socket it creates (or on 127.0.0.1 with TLS).
 *
 * Scripted by rules, matched in the order they were added against METHOD and the
 * path with any /vX.Y prefix removed (a path ending in '*' matches by prefix). A rule
 * with times = N answers N requests and is then spent (so "500 twice, then 200" is two
 * rules). Built-in last-resort rules answer GET /_ping ("OK") and GET /version
 * (ApiVersion from dv_fake_set_api_version, default "1.41"); anything else is 404.
 * Every request is recorded (method, raw url, decoded query, X-Registry-Auth, body).
 * Nothing here is meant for production; it aborts on setup failures. */
#ifndef DV_FAKE_ENGINE_H
#define DV_FAKE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "docker.h"

typedef struct dv_fake dv_fake;

enum dv_fake_end {
    DV_FAKE_END_OK,    /* finish the response normally */
    DV_FAKE_END_CLOSE, /* drop the connection (no final chunk): EOF mid-stream */
    DV_FAKE_END_HANG,  /* send nothing more, keep the connection open until stop */
};

typedef struct dv_fake_chunk {
    const char *data;
    size_t len;   /* 0 → strlen(data) */
    int delay_ms; /* sleep before sending it */
} dv_fake_chunk;

typedef struct dv_fake_rule {
    const char *method;       /* NULL: any */
    const char *path;         /* after the version prefix, no query; trailing '*' = prefix */
    int times;                /* 0: forever */
    int status;               /* 0 → 200 */
    const char *content_type; /* NULL → application/json */
    bool hang;                /* never answer at all (headers included) until stop */
    bool drop;                /* close the connection without any answer (empty reply) */
    int delay_ms;             /* wait before answering */
    /* Either a whole body (Content-Length)... */
    const char *body; /* NULL: empty */
    size_t body_len;  /* 0 → strlen(body) */
    /* ...or a chunked stream: explicit chunks, or STREAM cut into PIECE-byte chunks. */
    const dv_fake_chunk *chunks;
    size_t n_chunks;
    const char *stream;
    size_t stream_len;
    size_t piece;
    enum dv_fake_end end;
} dv_fake_rule;

typedef struct dv_fake_request {
    char *method;
    char *url;           /* as received, e.g. "/v1.41/containers/create" */
    char *path;          /* without the version prefix */
    char *query;         /* decoded "k=v&k2=v2" in arrival order, "" if none */
    char *registry_auth; /* X-Registry-Auth or NULL */
    char *body;
    size_t body_len;
} dv_fake_request;

/* TLS_CERT/TLS_KEY (PEM text) → TLS on 127.0.0.1:<ephemeral>; NULL → Unix socket. */
dv_fake *dv_fake_start(const char *tls_cert_pem, const char *tls_key_pem);
/* Stop answering, release every hanging handler, join threads, free everything. */
void dv_fake_stop(dv_fake *f);
/* "unix:///tmp/.../engine.sock" or "tcp://127.0.0.1:PORT". */
const char *dv_fake_endpoint(const dv_fake *f);
void dv_fake_set_api_version(dv_fake *f, const char *version);
/* Deep-copies the rule. */
void dv_fake_add(dv_fake *f, const dv_fake_rule *rule);
/* Shorthand: METHOD PATH answered TIMES times with STATUS and BODY. */
void dv_fake_reply(dv_fake *f, const char *method, const char *path, int times, int status,
                   const char *body);
/* From now on METHOD PATH is answered with STATUS and BODY, forever: every
 * earlier rule for exactly that METHOD and PATH is spent first. For an Engine whose
 * answer changes as a test goes on (a container that runs, then has exited). */
void dv_fake_replace(dv_fake *f, const char *method, const char *path, int status,
                     const char *body);
/* The same with a whole rule (its times are kept: 0 is forever). */
void dv_fake_replace_rule(dv_fake *f, const dv_fake_rule *rule);
size_t dv_fake_request_count(dv_fake *f);
/* How many recorded requests of METHOD (NULL: any) have a path starting with PATH. */
size_t dv_fake_count(dv_fake *f, const char *method, const char *path);
/* The I-th recorded request (stable until dv_fake_stop), NULL if none. */
const dv_fake_request *dv_fake_request_at(dv_fake *f, size_t i);
/* The last recorded request whose path (without version) starts with PATH. */
const dv_fake_request *dv_fake_find(dv_fake *f, const char *method, const char *path);

/* An Engine API client of F with TIMEOUT_NS as its deadline (0: the default); the
 * caller frees it with dv_docker_free(). Aborts, saying why, if it cannot be made. */
dv_docker *dv_fake_client(dv_fake *f, int64_t timeout_ns);

#endif

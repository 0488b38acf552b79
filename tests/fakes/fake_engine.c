#include "fake_engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "test_support.h"

typedef struct rule {
    dv_fake_rule r; /* strings and chunks owned */
    dv_fake_chunk *chunks;
    int left; /* remaining answers; -1 forever */
} rule;

struct dv_fake {
    struct MHD_Daemon *mhd;
    char *dir;
    char endpoint[256];
    atomic_bool stopping;
    pthread_mutex_t lock;
    rule **rules;
    size_t n_rules;
    dv_fake_request **reqs;
    size_t n_reqs;
    char api_version[16];
};

static void *xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        abort();
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static char *xstrdup(const char *s)
{
    return s ? xstrndup(s, strlen(s)) : NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Sleep that returns early when the server stops, so hanging handlers let
 * MHD_stop_daemon join their threads. Returns false if stopping. */
static bool wait_ms(dv_fake *f, int ms)
{
    for (int t = 0; t < ms; t += 5) {
        if (atomic_load(&f->stopping))
            return false;
        sleep_ms(ms - t < 5 ? ms - t : 5);
    }
    return !atomic_load(&f->stopping);
}

/* "/v1.41/x" → "/x"; anything else unchanged. */
static const char *strip_version(const char *url)
{
    if (url[0] != '/' || url[1] != 'v')
        return url;
    const char *p = url + 2;
    if (*p < '0' || *p > '9')
        return url;
    while ((*p >= '0' && *p <= '9') || *p == '.')
        p++;
    return *p == '/' ? p : url;
}

static bool path_matches(const char *pattern, const char *path)
{
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*')
        return strncmp(pattern, path, n - 1) == 0;
    return strcmp(pattern, path) == 0;
}

typedef struct conn_state {
    char *body;
    size_t len;
} conn_state;

typedef struct stream_state {
    dv_fake *f;
    dv_fake_chunk *chunks; /* borrowed from the rule, which lives until stop */
    size_t n;
    size_t idx;
    size_t off; /* within chunks[idx] */
    enum dv_fake_end end;
} stream_state;

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_state *s = cls;
    if (s->idx < s->n) {
        dv_fake_chunk *c = &s->chunks[s->idx];
        if (s->off == 0 && c->delay_ms && !wait_ms(s->f, c->delay_ms))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        size_t n = c->len - s->off;
        if (n > max)
            n = max;
        memcpy(buf, c->data + s->off, n);
        s->off += n;
        if (s->off == c->len) {
            s->idx++;
            s->off = 0;
        }
        return (ssize_t)n;
    }
    switch (s->end) {
    case DV_FAKE_END_OK:
        return MHD_CONTENT_READER_END_OF_STREAM;
    case DV_FAKE_END_CLOSE:
        return MHD_CONTENT_READER_END_WITH_ERROR;
    case DV_FAKE_END_HANG:
        while (wait_ms(s->f, 50))
            ;
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
    free(cls);
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    char **q = cls;
    char *n = NULL;
    if (asprintf(&n, "%s%s%s=%s", *q, **q ? "&" : "", key, value ? value : "") < 0)
        abort();
    free(*q);
    *q = n;
    return MHD_YES;
}

static rule *take_rule(dv_fake *f, const char *method, const char *path)
{
    pthread_mutex_lock(&f->lock);
    rule *found = NULL;
    for (size_t i = 0; i < f->n_rules && !found; i++) {
        rule *r = f->rules[i];
        if (r->left == 0)
            continue;
        if (r->r.method && strcmp(r->r.method, method) != 0)
            continue;
        if (!path_matches(r->r.path, path))
            continue;
        if (r->left > 0)
            r->left--;
        found = r;
    }
    pthread_mutex_unlock(&f->lock);
    return found;
}

static enum MHD_Result send_whole(struct MHD_Connection *c, int status, const char *ctype,
                                  const char *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "Api-Version", "1.41");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    (void)version;
    dv_fake *f = cls;
    conn_state *cs = *con_cls;
    if (!cs) {
        *con_cls = xmalloc(sizeof(conn_state));
        return MHD_YES;
    }
    if (*upload_data_size) {
        cs->body = realloc(cs->body, cs->len + *upload_data_size + 1);
        if (!cs->body)
            abort();
        memcpy(cs->body + cs->len, upload_data, *upload_data_size);
        cs->len += *upload_data_size;
        cs->body[cs->len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }

    const char *path = strip_version(url);
    dv_fake_request *rq = xmalloc(sizeof(*rq));
    rq->method = xstrdup(method);
    rq->url = xstrdup(url);
    rq->path = xstrdup(path);
    rq->query = xstrdup("");
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &rq->query);
    rq->registry_auth = xstrdup(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Registry-Auth"));
    rq->body = cs->body ? cs->body : xstrdup("");
    rq->body_len = cs->len;
    cs->body = NULL;
    pthread_mutex_lock(&f->lock);
    f->reqs = realloc(f->reqs, (f->n_reqs + 1) * sizeof(*f->reqs));
    if (!f->reqs)
        abort();
    f->reqs[f->n_reqs++] = rq;
    pthread_mutex_unlock(&f->lock);

    rule *r = take_rule(f, method, path);
    if (!r) {
        if (strcmp(method, "GET") == 0 && strcmp(path, "/_ping") == 0)
            return send_whole(c, 200, "text/plain", "OK", 2);
        if (strcmp(method, "GET") == 0 && strcmp(path, "/version") == 0) {
            char body[256];
            pthread_mutex_lock(&f->lock);
            snprintf(
                body, sizeof(body),
                "{\"ApiVersion\":\"%s\",\"MinAPIVersion\":\"1.12\",\"Version\":\"20.10.0-fake\"}",
                f->api_version);
            pthread_mutex_unlock(&f->lock);
            return send_whole(c, 200, "application/json", body, strlen(body));
        }
        char body[512];
        snprintf(body, sizeof(body), "{\"message\":\"fake: no rule for %s %s\"}", method, path);
        return send_whole(c, 404, "application/json", body, strlen(body));
    }
    if (r->r.hang) {
        while (wait_ms(f, 50))
            ;
        return MHD_NO;
    }
    if (r->r.delay_ms && !wait_ms(f, r->r.delay_ms))
        return MHD_NO;
    if (r->r.drop)
        return MHD_NO;
    int status = r->r.status ? r->r.status : 200;
    const char *ctype = r->r.content_type ? r->r.content_type : "application/json";
    if (!r->chunks)
        return send_whole(c, status, ctype, r->r.body ? r->r.body : "", r->r.body_len);

    stream_state *s = xmalloc(sizeof(*s));
    s->f = f;
    s->chunks = r->chunks;
    s->n = r->r.n_chunks;
    s->end = r->r.end;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
                                                                  stream_reader, s, stream_free);
    MHD_add_response_header(resp, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    conn_state *cs = *con_cls;
    if (cs) {
        free(cs->body);
        free(cs);
        *con_cls = NULL;
    }
}

dv_fake *dv_fake_start(const char *tls_cert_pem, const char *tls_key_pem)
{
    dv_fake *f = xmalloc(sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    snprintf(f->api_version, sizeof(f->api_version), "1.41");
    int fd;
    if (tls_cert_pem) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
            perror("fake engine: tcp socket");
            abort();
        }
        snprintf(f->endpoint, sizeof(f->endpoint), "tcp://127.0.0.1:%u", ntohs(a.sin_port));
    } else {
        f->dir = dv_test_tmpdir("dvtest-client-fake");
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s/engine.sock", f->dir);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0) {
            perror("fake engine: unix socket");
            abort();
        }
        snprintf(f->endpoint, sizeof(f->endpoint), "unix://%s", a.sun_path);
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    if (tls_cert_pem) {
        flags |= MHD_USE_TLS;
        f->mhd =
            MHD_start_daemon(flags, 0, NULL, NULL, handler, f, MHD_OPTION_LISTEN_SOCKET, fd,
                             MHD_OPTION_NOTIFY_COMPLETED, completed, f, MHD_OPTION_HTTPS_MEM_KEY,
                             tls_key_pem, MHD_OPTION_HTTPS_MEM_CERT, tls_cert_pem, MHD_OPTION_END);
    } else {
        f->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, f, MHD_OPTION_LISTEN_SOCKET, fd,
                                  MHD_OPTION_NOTIFY_COMPLETED, completed, f, MHD_OPTION_END);
    }
    if (!f->mhd) {
        fprintf(stderr, "fake engine: MHD_start_daemon failed\n");
        abort();
    }
    return f;
}

static void free_request(dv_fake_request *rq)
{
    free(rq->method);
    free(rq->url);
    free(rq->path);
    free(rq->query);
    free(rq->registry_auth);
    free(rq->body);
    free(rq);
}

static void free_rule(rule *r)
{
    for (size_t i = 0; r->chunks && i < r->r.n_chunks; i++)
        free((char *)r->chunks[i].data);
    free(r->chunks);
    free((char *)r->r.method);
    free((char *)r->r.path);
    free((char *)r->r.content_type);
    free((char *)r->r.body);
    free(r);
}

void dv_fake_stop(dv_fake *f)
{
    if (!f)
        return;
    atomic_store(&f->stopping, true);
    MHD_stop_daemon(f->mhd); /* closes the listen socket it was given */
    for (size_t i = 0; i < f->n_rules; i++)
        free_rule(f->rules[i]);
    free(f->rules);
    for (size_t i = 0; i < f->n_reqs; i++)
        free_request(f->reqs[i]);
    free(f->reqs);
    if (f->dir) {
        dv_test_rm_rf(f->dir);
        free(f->dir);
    }
    pthread_mutex_destroy(&f->lock);
    free(f);
}

const char *dv_fake_endpoint(const dv_fake *f)
{
    return f->endpoint;
}

void dv_fake_set_api_version(dv_fake *f, const char *version)
{
    pthread_mutex_lock(&f->lock);
    snprintf(f->api_version, sizeof(f->api_version), "%s", version);
    pthread_mutex_unlock(&f->lock);
}

void dv_fake_add(dv_fake *f, const dv_fake_rule *in)
{
    rule *r = xmalloc(sizeof(*r));
    r->r = *in;
    r->r.method = xstrdup(in->method);
    r->r.path = xstrdup(in->path ? in->path : "*");
    r->r.content_type = xstrdup(in->content_type);
    r->r.body_len = in->body ? (in->body_len ? in->body_len : strlen(in->body)) : 0;
    r->r.body = in->body ? xstrndup(in->body, r->r.body_len) : NULL;
    r->left = in->times > 0 ? in->times : -1;
    if (in->chunks) {
        r->chunks = xmalloc(in->n_chunks * sizeof(*r->chunks));
        for (size_t i = 0; i < in->n_chunks; i++) {
            size_t len = in->chunks[i].len ? in->chunks[i].len : strlen(in->chunks[i].data);
            r->chunks[i] =
                (dv_fake_chunk){xstrndup(in->chunks[i].data, len), len, in->chunks[i].delay_ms};
        }
    } else if (in->stream) {
        size_t len = in->stream_len ? in->stream_len : strlen(in->stream);
        size_t piece = in->piece ? in->piece : (len ? len : 1);
        size_t n = (len + piece - 1) / piece;
        r->chunks = xmalloc(n * sizeof(*r->chunks));
        for (size_t i = 0; i < n; i++) {
            size_t l = len - i * piece < piece ? len - i * piece : piece;
            r->chunks[i] = (dv_fake_chunk){xstrndup(in->stream + i * piece, l), l, 0};
        }
        r->r.n_chunks = n;
    }
    if (in->chunks || in->stream) {
        r->r.chunks = NULL;
        r->r.stream = NULL;
        if (!r->chunks)
            r->chunks = xmalloc(sizeof(*r->chunks)); /* empty stream: still chunked */
    }
    pthread_mutex_lock(&f->lock);
    f->rules = realloc(f->rules, (f->n_rules + 1) * sizeof(*f->rules));
    if (!f->rules)
        abort();
    f->rules[f->n_rules++] = r;
    pthread_mutex_unlock(&f->lock);
}

void dv_fake_reply(dv_fake *f, const char *method, const char *path, int times, int status,
                   const char *body)
{
    dv_fake_rule r = {
        .method = method, .path = path, .times = times, .status = status, .body = body};
    dv_fake_add(f, &r);
}

void dv_fake_replace_rule(dv_fake *f, const dv_fake_rule *in)
{
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_rules; i++) {
        rule *r = f->rules[i];
        if (r->r.method && in->method && strcmp(r->r.method, in->method) == 0 &&
            strcmp(r->r.path, in->path) == 0)
            r->left = 0;
    }
    pthread_mutex_unlock(&f->lock);
    dv_fake_add(f, in);
}

void dv_fake_replace(dv_fake *f, const char *method, const char *path, int status, const char *body)
{
    dv_fake_rule r = {.method = method, .path = path, .status = status, .body = body};
    dv_fake_replace_rule(f, &r);
}

size_t dv_fake_count(dv_fake *f, const char *method, const char *path)
{
    pthread_mutex_lock(&f->lock);
    size_t n = 0;
    for (size_t i = 0; i < f->n_reqs; i++)
        n += (!method || strcmp(f->reqs[i]->method, method) == 0) &&
             strncmp(f->reqs[i]->path, path, strlen(path)) == 0;
    pthread_mutex_unlock(&f->lock);
    return n;
}

size_t dv_fake_request_count(dv_fake *f)
{
    pthread_mutex_lock(&f->lock);
    size_t n = f->n_reqs;
    pthread_mutex_unlock(&f->lock);
    return n;
}

const dv_fake_request *dv_fake_request_at(dv_fake *f, size_t i)
{
    pthread_mutex_lock(&f->lock);
    const dv_fake_request *rq = i < f->n_reqs ? f->reqs[i] : NULL;
    pthread_mutex_unlock(&f->lock);
    return rq;
}

const dv_fake_request *dv_fake_find(dv_fake *f, const char *method, const char *path)
{
    pthread_mutex_lock(&f->lock);
    const dv_fake_request *found = NULL;
    for (size_t i = f->n_reqs; i-- > 0 && !found;)
        if ((!method || strcmp(f->reqs[i]->method, method) == 0) &&
            strncmp(f->reqs[i]->path, path, strlen(path)) == 0)
            found = f->reqs[i];
    pthread_mutex_unlock(&f->lock);
    return found;
}

dv_docker *dv_fake_client(dv_fake *f, int64_t timeout_ns)
{
    dv_docker_config c = {.endpoint = dv_fake_endpoint(f), .timeout_ns = timeout_ns};
    dv_docker *dk = NULL;
    dv_error err;
    dv_error_clear(&err);
    if (dv_docker_new(&c, &dk, &err) < 0) {
        fprintf(stderr, "fake engine: no client for %s: %s\n", c.endpoint, err.msg);
        abort();
    }
    return dk;
}

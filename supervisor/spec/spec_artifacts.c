/* The task-level `artifact` array (spec.h dv_artifact): Nomad's HCL names as
 * keys, each value checked here so the fetch (runner/artifacts.h) only ever
 * sees a URL it may fetch and a target inside the task dir. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cleanup.h"
#include "spec_json.h"
#include "spec_parse.h"
#include "xalloc.h"

/* More would be a mistake, and each one is a download at every first start. */
#define ARTIFACTS_MAX 64

static const char *const artifact_keys[] = {"source",  "destination", "mode",
                                            "options", "headers",     NULL};
static const char *const option_keys[] = {"checksum", "archive", NULL};

static bool has_prefix_case(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* A bare host path becomes a file:// URL: the characters libcurl would read
 * as URL syntax are escaped. */
static char *file_url(const char *path)
{
    _cleanup_buf_ dv_buf b = DV_BUF_INIT;
    dv_buf_printf(&b, "file://");
    for (const char *p = path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || *p == ' ')
            dv_buf_printf(&b, "%%%02X", (unsigned char)*p);
        else
            dv_buf_printf(&b, "%c", *p);
    }
    return dv_xstrdup(b.data);
}

static int parse_source(dv_artifact *a, const char *path, dv_spec_error *err)
{
    char field[DV_SPEC_FIELD_MAX];
    dv_sj_join(field, path, "source");
    const char *s = a->source;
    if (!s || !*s)
        return dv_spec_fail(err, field, -EINVAL, "source required");
    if (has_control(s) || (s[0] != '/' && strchr(s, ' ')))
        return dv_spec_fail(err, field, -EINVAL,
                            "spaces (in a URL) and control characters are not allowed");
    if (has_prefix_case(s, "http://") || has_prefix_case(s, "https://")) {
        a->url = dv_xstrdup(s);
        return 0;
    }
    if (has_prefix_case(s, "file://")) {
        if (s[7] != '/')
            return dv_spec_fail(err, field, -EINVAL,
                                "\"%s\" is not a local file URL (file:///absolute/path)", s);
        a->url = dv_xstrdup(s);
        a->local = true;
        return 0;
    }
    if (s[0] == '/') {
        a->url = file_url(s);
        a->local = true;
        return 0;
    }
    const char *sep = strstr(s, "://");
    if (sep)
        return dv_spec_fail(err, field, -EINVAL,
                            "unsupported scheme \"%.*s\" (http, https, file or an absolute path)",
                            (int)(sep - s), s);
    return dv_spec_fail(err, field, -EINVAL,
                        "\"%s\" is neither an http(s) or file:// URL nor an absolute path", s);
}

/* The source's last path segment, which names the file in mode "any" (as
 * go-getter does for a file it does not unpack). NULL when there is none. */
static char *source_basename(const dv_artifact *a)
{
    const char *s = a->source[0] == '/' ? a->source : strstr(a->source, "://") + 3;
    size_t end = a->source[0] == '/' ? strlen(s) : strcspn(s, "?#");
    const char *slash = memrchr(s, '/', end);
    if (!slash)
        return NULL; /* a URL with a host and no path */
    const char *name = slash + 1;
    size_t n = end - (size_t)(name - s);
    if (n == 0 || (n == 1 && name[0] == '.') || (n == 2 && strncmp(name, "..", 2) == 0) ||
        (a->source[0] != '/' && memchr(name, '%', n)))
        return NULL;
    return dv_xstrndup(name, n);
}

/* DEST's components, "." and empty ones dropped, joined by '/'; "" for the
 * task dir itself. Fails on an absolute path or a ".." anywhere: the target
 * must stay inside the task dir without looking at the disk. */
static int clean_destination(const char *dest, const char *field, char **ret, dv_spec_error *err)
{
    if (dest[0] == '/')
        return dv_spec_fail(err, field, -EINVAL,
                            "\"%s\" must be a path relative to the task directory", dest);
    if (has_control(dest))
        return dv_spec_fail(err, field, -EINVAL, "control characters are not allowed");
    _cleanup_buf_ dv_buf b = DV_BUF_INIT;
    for (const char *p = dest; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && strncmp(p, "..", 2) == 0)
            return dv_spec_fail(err, field, -EINVAL, "\"%s\" escapes the task directory (..)",
                                dest);
        if (n > 0 && !(n == 1 && p[0] == '.'))
            dv_buf_printf(&b, "%s%.*s", b.len ? "/" : "", (int)n, p);
        p += n;
        while (*p == '/')
            p++;
    }
    *ret = dv_xstrdup(b.len ? b.data : "");
    return 0;
}

static int parse_target(const json_t *obj, dv_artifact *a, const char *path, dv_spec_error *err)
{
    _cleanup_free_ char *dest = NULL, *mode = NULL, *clean = NULL;
    int r;
    if ((r = dv_sj_string(obj, path, "destination", &dest, err)) < 0 ||
        (r = dv_sj_string(obj, path, "mode", &mode, err)) < 0)
        return r;
    char field[DV_SPEC_FIELD_MAX];
    dv_sj_join(field, path, "mode");
    bool file_mode = mode && strcmp(mode, "file") == 0;
    if (mode && strcmp(mode, "dir") == 0)
        return dv_spec_fail(err, field, -EINVAL,
                            "mode \"dir\" is not supported (archives are not unpacked): use "
                            "\"any\" or \"file\"");
    if (mode && *mode && !file_mode && strcmp(mode, "any") != 0)
        return dv_spec_fail(err, field, -EINVAL, "invalid mode \"%s\" (expected any or file)",
                            mode);
    dv_sj_join(field, path, "destination");
    if ((r = clean_destination(dest && *dest ? dest : "local/", field, &clean, err)) < 0)
        return r;
    if (file_mode) {
        size_t n = dest ? strlen(dest) : 0;
        if (!*clean || !dest || dest[n - 1] == '/')
            return dv_spec_fail(err, field, -EINVAL,
                                "mode \"file\" needs the file's path (relative to the task "
                                "directory), not a directory");
        a->target = TAKE_PTR(clean);
        return 0;
    }
    _cleanup_free_ char *name = source_basename(a);
    if (!name) {
        dv_sj_join(field, path, "source");
        return dv_spec_fail(err, field, -EINVAL,
                            "\"%s\" has no file name to save it under: give mode \"file\" and "
                            "the file's path as destination",
                            a->source);
    }
    a->target = *clean ? dv_xasprintf("%s/%s", clean, name) : TAKE_PTR(name);
    return 0;
}

static int parse_checksum(const char *text, dv_artifact *a, const char *field, dv_spec_error *err)
{
    static const struct {
        const char *type;
        size_t hex;
    } types[] = {{"md5", 32}, {"sha1", 40}, {"sha256", 64}, {"sha512", 128}};
    const char *colon = strchr(text, ':');
    if (!colon)
        return dv_spec_fail(err, field, -EINVAL, "expected TYPE:HEX (e.g. sha256:...), got \"%s\"",
                            text);
    size_t tlen = (size_t)(colon - text);
    const char *hex = colon + 1;
    for (size_t i = 0; i < DV_ARRAY_SIZE(types); i++) {
        if (strlen(types[i].type) != tlen || strncasecmp(text, types[i].type, tlen) != 0)
            continue;
        size_t n = strlen(hex);
        if (n != types[i].hex || strspn(hex, "0123456789abcdefABCDEF") != n)
            return dv_spec_fail(err, field, -EINVAL, "a %s checksum is %zu hex digits",
                                types[i].type, types[i].hex);
        a->checksum_type = dv_xstrdup(types[i].type);
        a->checksum_hex = dv_xstrdup(hex);
        for (char *p = a->checksum_hex; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        return 0;
    }
    return dv_spec_fail(err, field, -EINVAL,
                        "unsupported checksum type \"%.*s\" (md5, sha1, sha256, sha512)", (int)tlen,
                        text);
}

static int parse_options(const json_t *obj, dv_artifact *a, const char *path, dv_spec_error *err)
{
    const json_t *opts = NULL;
    int r = dv_sj_object(obj, path, "options", &opts, err);
    if (r < 0 || !opts)
        return r;
    char opath[DV_SPEC_FIELD_MAX], field[DV_SPEC_FIELD_MAX];
    dv_sj_join(opath, path, "options");
    _cleanup_free_ char *checksum = NULL;
    if ((r = dv_sj_check_keys(opts, opath, option_keys, err)) < 0 ||
        (r = dv_sj_string(opts, opath, "checksum", &checksum, err)) < 0)
        return r;
    if (checksum && *checksum) {
        dv_sj_join(field, opath, "checksum");
        if ((r = parse_checksum(checksum, a, field, err)) < 0)
            return r;
    }
    /* go-getter's options are strings; Nomad's docs write archive = false for
     * `load`. Nothing is ever unpacked here, so only false can be honoured. */
    const json_t *archive = json_object_get(opts, "archive");
    dv_sj_join(field, opath, "archive");
    if (archive && !json_is_null(archive) && !json_is_false(archive) &&
        !(json_is_string(archive) && strcmp(json_string_value(archive), "false") == 0))
        return dv_spec_fail(err, field, -EINVAL,
                            "archives are not unpacked by this agent: only false is supported");
    return 0;
}

static int parse_headers(const json_t *obj, dv_artifact *a, const char *path, dv_spec_error *err)
{
    int r = dv_sj_kv(obj, path, "headers", &a->headers, err);
    if (r < 0)
        return r;
    char hpath[DV_SPEC_FIELD_MAX];
    dv_sj_join(hpath, path, "headers");
    for (size_t i = 0; i < a->headers.n; i++) {
        const char *k = a->headers.v[i].key;
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_join(field, hpath, k);
        /* RFC 9110 token characters: anything else would split or forge a header. */
        bool token =
            *k && strspn(k, "!#$%&'*+-.^_`|~0123456789"
                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(k);
        if (!token)
            return dv_spec_fail(err, field, -EINVAL, "invalid header name");
        if (has_control(a->headers.v[i].value))
            return dv_spec_fail(err, field, -EINVAL, "control characters are not allowed");
    }
    return 0;
}

static int parse_one(const json_t *obj, dv_artifact *a, const char *path, dv_spec_error *err)
{
    if (!json_is_object(obj))
        return dv_spec_fail(err, path, -EINVAL, "expected an object, got %s", dv_sj_type_name(obj));
    int r;
    if ((r = dv_sj_check_keys(obj, path, artifact_keys, err)) < 0 ||
        (r = dv_sj_string(obj, path, "source", &a->source, err)) < 0 ||
        (r = parse_source(a, path, err)) < 0 || (r = parse_target(obj, a, path, err)) < 0 ||
        (r = parse_options(obj, a, path, err)) < 0 || (r = parse_headers(obj, a, path, err)) < 0)
        return r;
    return 0;
}

int dv_spec_parse_artifacts(const json_t *spec_json, dv_task_spec *spec, dv_spec_error *err)
{
    const json_t *list = json_object_get(spec_json, "artifact");
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return dv_spec_fail(err, "artifact", -EINVAL, "expected an array, got %s",
                            dv_sj_type_name(list));
    size_t n = json_array_size(list);
    if (n > ARTIFACTS_MAX)
        return dv_spec_fail(err, "artifact", -EINVAL, "more than %d artifacts", ARTIFACTS_MAX);
    spec->artifacts = n ? dv_xcalloc(n, sizeof(*spec->artifacts)) : NULL;
    for (size_t i = 0; i < n; i++) {
        char path[DV_SPEC_FIELD_MAX];
        dv_sj_index(path, "artifact", i);
        spec->n_artifacts = i + 1; /* so a failure frees what this one holds */
        int r = parse_one(json_array_get(list, i), &spec->artifacts[i], path, err);
        if (r < 0)
            return r;
        for (size_t k = 0; k < i; k++)
            if (strcmp(spec->artifacts[k].target, spec->artifacts[i].target) == 0) {
                char field[DV_SPEC_FIELD_MAX];
                dv_sj_join(field, path, "destination");
                return dv_spec_fail(err, field, -EINVAL, "artifact[%zu] is saved as %s already", k,
                                    spec->artifacts[i].target);
            }
    }
    return 0;
}

void dv_spec_artifacts_clear(dv_task_spec *spec)
{
    for (size_t i = 0; i < spec->n_artifacts; i++) {
        dv_artifact *a = &spec->artifacts[i];
        free(a->source);
        free(a->url);
        free(a->target);
        free(a->checksum_type);
        free(a->checksum_hex);
        dv_kv_free(&a->headers);
    }
    free(spec->artifacts);
    spec->artifacts = NULL;
    spec->n_artifacts = 0;
}

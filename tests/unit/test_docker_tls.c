/* TLS endpoints against the fake engine serving TLS on 127.0.0.1, with certificates
 * generated at test time by openssl: a trusted CA works (tcp:// with client cert,
 * https://, DOCKER_HOST + DOCKER_TLS_VERIFY), a wrong CA and a wrong host name are
 * rejected with a clear error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <signal.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "docker.h"
#include "fake_engine.h"
#include "test_support.h"

typedef struct tls_env {
    char *dir;
    char ca[512], ca2[512], cert[512], key[512];
    dv_fake *fake;
    char port[16];
} tls_env;

static char *slurp(const char *path)
{
    char *data = NULL;
    dv_error err;
    if (dv_read_file(path, &data, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    return data;
}

static int setup(void **state)
{
    tls_env *e = calloc(1, sizeof(*e));
    e->dir = dv_test_tmpdir("dvtest-client-tls");
    /* Two CAs; the server's cert (127.0.0.1 only) and a client cert from the first. */
    const char *script =
        "set -e;"
        "gen() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "  -keyout $1.key -out $1.pem -days 2 -subj /CN=$1 2>/dev/null; };"
        "gen ca; gen ca2;"
        "sign() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "  -keyout $1.key -out $1.csr -subj /CN=$1 2>/dev/null;"
        "  printf '%s\\n' \"$2\" > $1.ext;"
        "  openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "  -extfile $1.ext -out $1.pem 2>/dev/null; };"
        "sign server 'subjectAltName=IP:127.0.0.1';"
        "sign client 'extendedKeyUsage=clientAuth';"
        "mkdir certs; cp ca.pem certs/ca.pem; cp client.pem certs/cert.pem; cp client.key "
        "certs/key.pem";
    if (dv_test_sh(NULL, "cd '%s' && %s", e->dir, script) != 0)
        fail_msg("openssl certificate generation failed in %s", e->dir);
    snprintf(e->ca, sizeof(e->ca), "%s/ca.pem", e->dir);
    snprintf(e->ca2, sizeof(e->ca2), "%s/ca2.pem", e->dir);
    snprintf(e->cert, sizeof(e->cert), "%s/client.pem", e->dir);
    snprintf(e->key, sizeof(e->key), "%s/client.key", e->dir);
    char path[600];
    snprintf(path, sizeof(path), "%s/server.pem", e->dir);
    _cleanup_free_ char *cert = slurp(path);
    snprintf(path, sizeof(path), "%s/server.key", e->dir);
    _cleanup_free_ char *key = slurp(path);
    e->fake = dv_fake_start(cert, key);
    dv_fake_reply(e->fake, "GET", "/info", 0, 200, "{\"Name\":\"tls-fake\"}");
    const char *colon = strrchr(dv_fake_endpoint(e->fake), ':');
    snprintf(e->port, sizeof(e->port), "%s", colon + 1);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    tls_env *e = *state;
    dv_fake_stop(e->fake);
    dv_test_rm_rf(e->dir);
    free(e->dir);
    free(e);
    return 0;
}

static int info(const dv_docker_config *c, dv_error *err)
{
    dv_docker *dk = NULL;
    int r = dv_docker_new(c, &dk, err);
    if (r < 0)
        return r;
    json_t *j = NULL;
    r = dv_docker_info(dk, &j, err);
    if (r == 0) {
        assert_string_equal(json_string_value(json_object_get(j, "Name")), "tls-fake");
        assert_string_equal(dv_docker_api_version(dk), "1.41");
    }
    json_decref(j);
    dv_docker_free(dk);
    return r;
}

static void test_trusted_ca(void **state)
{
    tls_env *e = *state;
    dv_error err;
    /* The driver's tls block: tcp:// plus cert, key and CA. */
    dv_docker_config c = {.endpoint = dv_fake_endpoint(e->fake),
                          .tls_cert = e->cert,
                          .tls_key = e->key,
                          .tls_ca = e->ca};
    if (info(&c, &err) < 0)
        fail_msg("%s", err.msg);
    /* https:// with only the CA. */
    char ep[64];
    snprintf(ep, sizeof(ep), "https://127.0.0.1:%s", e->port);
    c = (dv_docker_config){.endpoint = ep, .tls_ca = e->ca};
    if (info(&c, &err) < 0)
        fail_msg("%s", err.msg);
}

static void test_wrong_ca_is_rejected_clearly(void **state)
{
    tls_env *e = *state;
    dv_error err;
    dv_docker_config c = {.endpoint = dv_fake_endpoint(e->fake),
                          .tls_cert = e->cert,
                          .tls_key = e->key,
                          .tls_ca = e->ca2};
    assert_int_equal(info(&c, &err), -EACCES);
    assert_false(err.recoverable);
    assert_int_equal(err.http_status, 0);
    char want[1024];
    snprintf(want, sizeof(want),
             "docker: GET /version: TLS: the certificate of %s is not trusted (CA %s): ",
             dv_fake_endpoint(e->fake), e->ca2);
    if (strncmp(err.msg, want, strlen(want)) != 0)
        fail_msg("unexpected message: %s", err.msg);
    assert_non_null(strstr(err.msg, "certificate"));
    /* The system store does not know our CA either. */
    char ep[64];
    snprintf(ep, sizeof(ep), "https://127.0.0.1:%s", e->port);
    c = (dv_docker_config){.endpoint = ep};
    assert_int_equal(info(&c, &err), -EACCES);
    assert_non_null(strstr(err.msg, "(CA system store)"));
}

static void test_wrong_host_name_is_rejected(void **state)
{
    tls_env *e = *state;
    dv_error err;
    /* The server certificate names 127.0.0.1 only. */
    char ep[64];
    snprintf(ep, sizeof(ep), "tcp://localhost:%s", e->port);
    dv_docker_config c = {.endpoint = ep, .tls_cert = e->cert, .tls_key = e->key, .tls_ca = e->ca};
    assert_int_equal(info(&c, &err), -EACCES);
    assert_non_null(strstr(err.msg, "is not valid for that host"));
    assert_non_null(strstr(err.msg, "'localhost'"));
}

static void test_docker_tls_verify_environment(void **state)
{
    tls_env *e = *state;
    char ep[64], certs[600];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%s", e->port);
    snprintf(certs, sizeof(certs), "%s/certs", e->dir);
    setenv("DOCKER_HOST", ep, 1);
    setenv("DOCKER_TLS_VERIFY", "1", 1);
    setenv("DOCKER_CERT_PATH", certs, 1);
    dv_error err;
    int r = info(NULL, &err);
    /* Without DOCKER_TLS_VERIFY the same endpoint is plain HTTP to a TLS server. */
    unsetenv("DOCKER_TLS_VERIFY");
    int plain = info(NULL, &err);
    unsetenv("DOCKER_HOST");
    unsetenv("DOCKER_CERT_PATH");
    assert_int_equal(r, 0);
    assert_true(plain < 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trusted_ca),
        cmocka_unit_test(test_wrong_ca_is_rejected_clearly),
        cmocka_unit_test(test_wrong_host_name_is_rejected),
        cmocka_unit_test(test_docker_tls_verify_environment),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

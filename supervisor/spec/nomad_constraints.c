/* Nomad's constraint operands against this node (rules in nomad_constraints.h). */
#include "nomad_constraints.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "spec_json.h"
#include "xalloc.h"

#define VERSION_PARTS 8

typedef struct version {
    long long part[VERSION_PARTS];
    int n;
} version;

/* A target's value: a variable the node has, or a literal; NULL = not set. As
 * Nomad's resolveTarget: only a target starting with "${" is a variable. */
static char *resolve(const char *target, const dv_interp_vars *node)
{
    if (strncmp(target, "${", 2) != 0)
        return dv_xstrdup(target);
    dv_interp_vars vars = *node;
    vars.env = NULL;
    char *value = NULL;
    if (dv_interpolate(target, &vars, "", &value, NULL) < 0)
        return NULL;
    return value;
}

/* Nomad's checkOrder: numbers when both sides are numbers, else byte order. */
static int compare_order(const char *l, const char *r)
{
    char *lend, *rend;
    double ln = strtod(l, &lend), rn = strtod(r, &rend);
    if (*l && *r && !*lend && !*rend)
        return ln < rn ? -1 : ln > rn;
    return strcmp(l, r);
}

static bool parse_version(const char *s, version *v)
{
    while (*s == ' ')
        s++;
    if (*s == 'v')
        s++;
    v->n = 0;
    for (;;) {
        if (*s < '0' || *s > '9' || v->n == VERSION_PARTS)
            return false;
        char *end;
        v->part[v->n++] = strtoll(s, &end, 10);
        s = end;
        if (*s != '.')
            break;
        s++;
    }
    /* A pre-release or build suffix ("5.15.0-91-generic") compares as its release. */
    if (*s == '-' || *s == '+')
        return true;
    while (*s == ' ')
        s++;
    return *s == '\0';
}

static int version_cmp(const version *a, const version *b)
{
    int n = a->n > b->n ? a->n : b->n;
    for (int i = 0; i < n; i++) {
        long long x = i < a->n ? a->part[i] : 0, y = i < b->n ? b->part[i] : 0;
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

/* One term of a version constraint: "[op] version". -EINVAL when malformed. */
static int version_term(const version *have, const char *term, bool *ret)
{
    static const char *const ops[] = {">=", "<=", "!=", "~>", ">", "<", "=", ""};
    while (*term == ' ')
        term++;
    const char *op = "";
    for (size_t i = 0; i < DV_ARRAY_SIZE(ops); i++)
        if (strncmp(term, ops[i], strlen(ops[i])) == 0) {
            op = ops[i];
            break;
        }
    version want;
    if (!parse_version(term + strlen(op), &want))
        return -EINVAL;
    int c = version_cmp(have, &want);
    if (strcmp(op, "~>") == 0) {
        /* The last part given may grow, the ones before it may not. */
        bool same = c >= 0;
        for (int i = 0; same && i + 1 < want.n; i++)
            same = (i < have->n ? have->part[i] : 0) == want.part[i];
        *ret = same;
    } else if (strcmp(op, ">=") == 0) {
        *ret = c >= 0;
    } else if (strcmp(op, "<=") == 0) {
        *ret = c <= 0;
    } else if (strcmp(op, ">") == 0) {
        *ret = c > 0;
    } else if (strcmp(op, "<") == 0) {
        *ret = c < 0;
    } else if (strcmp(op, "!=") == 0) {
        *ret = c != 0;
    } else {
        *ret = c == 0;
    }
    return 0;
}

static int check_version(const char *have, const char *constraint, const char *field, bool *ret,
                         dv_spec_error *err)
{
    version v;
    bool have_ok = parse_version(have, &v);
    _cleanup_free_ char *copy = dv_xstrdup(constraint);
    char *save = NULL;
    *ret = have_ok;
    int terms = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save), terms++) {
        bool ok = false;
        if (version_term(have_ok ? &v : &(version){.n = 1}, t, &ok) < 0)
            return dv_spec_fail(err, field, -EINVAL, "invalid version constraint \"%s\"",
                                constraint);
        *ret = *ret && ok;
    }
    if (terms == 0)
        return dv_spec_fail(err, field, -EINVAL, "invalid version constraint \"%s\"", constraint);
    return 0;
}

/* The item of a comma list at *P, without the spaces around it: its start and
 * *RET_LEN; *P moves past it (NULL after the last). */
static const char *next_item(const char **p, size_t *ret_len)
{
    const char *item = *p;
    while (*item == ' ')
        item++;
    const char *end = strchr(item, ',');
    size_t n = end ? (size_t)(end - item) : strlen(item);
    while (n && item[n - 1] == ' ')
        n--;
    *ret_len = n;
    *p = end ? end + 1 : NULL;
    return item;
}

static bool in_list(const char *list, const char *item, size_t len)
{
    size_t n;
    for (const char *p = list; p;) {
        const char *have = next_item(&p, &n);
        if (n == len && strncmp(have, item, len) == 0)
            return true;
    }
    return false;
}

/* Items of WANT (a comma list) in HAVE's: all of them (ALL) or any. */
static bool set_contains(const char *have, const char *want, bool all)
{
    size_t n;
    for (const char *p = want; p;) {
        const char *item = next_item(&p, &n);
        bool found = in_list(have, item, n);
        if (found != all)
            return found;
    }
    return all;
}

static int check_regexp(const char *have, const char *pattern, const char *field, bool *ret,
                        dv_spec_error *err)
{
    regex_t re;
    int rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char why[128];
        regerror(rc, &re, why, sizeof(why));
        return dv_spec_fail(err, field, -EINVAL, "invalid regular expression \"%s\": %s", pattern,
                            why);
    }
    *ret = regexec(&re, have, 0, NULL, 0) == 0;
    regfree(&re);
    return 0;
}

/* Is the constraint satisfied? L and R are the values (NULL = not set). */
static int evaluate(const char *op, const char *l, const char *r, const char *path, bool *ret,
                    dv_spec_error *err)
{
    char field[DV_SPEC_FIELD_MAX];
    bool both = l && r;
    if (!*op || !strcmp(op, "=") || !strcmp(op, "==") || !strcmp(op, "is")) {
        *ret = both && strcmp(l, r) == 0;
    } else if (!strcmp(op, "!=") || !strcmp(op, "not")) {
        *ret = !both ? l != r : strcmp(l, r) != 0;
    } else if (!strcmp(op, "<") || !strcmp(op, "<=") || !strcmp(op, ">") || !strcmp(op, ">=")) {
        int c = both ? compare_order(l, r) : 0;
        *ret = both && (op[0] == '<' ? (c < 0 || (op[1] && c == 0)) : (c > 0 || (op[1] && c == 0)));
    } else if (!strcmp(op, "regexp")) {
        dv_sj_join(field, path, "RTarget");
        *ret = false;
        return both ? check_regexp(l, r, field, ret, err) : 0;
    } else if (!strcmp(op, "set_contains") || !strcmp(op, "set_contains_all") ||
               !strcmp(op, "set_contains_any")) {
        *ret = both && set_contains(l, r, strcmp(op, "set_contains_any") != 0);
    } else if (!strcmp(op, "is_set")) {
        *ret = l != NULL;
    } else if (!strcmp(op, "is_not_set")) {
        *ret = l == NULL;
    } else if (!strcmp(op, "version") || !strcmp(op, "semver")) {
        dv_sj_join(field, path, "RTarget");
        *ret = false;
        if (!r)
            return dv_spec_fail(err, field, -EINVAL, "a version constraint is required");
        return check_version(l ? l : "", r, field, ret, err);
    } else if (!strcmp(op, "distinct_hosts") || !strcmp(op, "distinct_property")) {
        *ret = true; /* every allocation is on this one node */
    } else {
        dv_sj_join(field, path, "Operand");
        return dv_spec_fail(err, field, -EINVAL, "unknown operand \"%s\"", op);
    }
    return 0;
}

int dv_nomad_constraint_check(const json_t *c, const char *path, const dv_interp_vars *node,
                              dv_spec_error *err)
{
    if (!json_is_object(c))
        return dv_spec_fail(err, path, -EINVAL, "expected a constraint object, got %s",
                            dv_sj_type_name(c));
    const char *lt = NULL, *rt = NULL, *op = NULL;
    int r;
    if ((r = dv_sj_string_ref(c, path, "LTarget", &lt, err)) < 0 ||
        (r = dv_sj_string_ref(c, path, "RTarget", &rt, err)) < 0 ||
        (r = dv_sj_string_ref(c, path, "Operand", &op, err)) < 0)
        return r;
    /* Absent is "": a literal, as in Nomad. */
    lt = lt ? lt : "";
    rt = rt ? rt : "";
    op = op ? op : "";
    _cleanup_free_ char *l = resolve(lt, node), *rv = resolve(rt, node);
    bool ok = false;
    if ((r = evaluate(op, l, rv, path, &ok, err)) < 0)
        return r;
    if (ok)
        return 0;
    /* What the node has, for the variable side of the constraint. */
    const char *var = strncmp(lt, "${", 2) == 0 ? l : strncmp(rt, "${", 2) == 0 ? rv : NULL;
    bool has_var = strncmp(lt, "${", 2) == 0 || strncmp(rt, "${", 2) == 0;
    char have[256] = "";
    if (has_var)
        snprintf(have, sizeof(have), " (%s)", var ? var : "not set");
    return dv_spec_fail(err, path, -EINVAL, "%s %s%s%s is not satisfied by this node%s", lt,
                        *op ? op : "=", *rt ? " " : "", rt, have);
}

int dv_nomad_constraints_check(const json_t *list, const char *path, const dv_interp_vars *node,
                               dv_spec_error *err)
{
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return dv_spec_fail(err, path, -EINVAL, "expected an array of constraints, got %s",
                            dv_sj_type_name(list));
    for (size_t i = 0; i < json_array_size(list); i++) {
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, path, i);
        int r = dv_nomad_constraint_check(json_array_get(list, i), field, node, err);
        if (r < 0)
            return r;
    }
    return 0;
}

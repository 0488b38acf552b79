#include "log_names.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int64_t dv_log_file_index(const char *name, const char *base, const char *type)
{
    size_t bl = strlen(base), tl = strlen(type);
    if (strncmp(name, base, bl) != 0 || name[bl] != '.' || strncmp(name + bl + 1, type, tl) != 0 ||
        name[bl + 1 + tl] != '.')
        return -1;
    const char *p = name + bl + tl + 2;
    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
        return -1;
    int64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

bool dv_log_file_name(char *buf, size_t size, const char *base, const char *type, int64_t index)
{
    int n = snprintf(buf, size, "%s.%s.%lld", base, type, (long long)index);
    return n >= 0 && (size_t)n < size;
}

int dv_log_dir_open(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

bool dv_log_file_path(char *buf, size_t size, const char *dir, const char *base, const char *type,
                      int64_t index)
{
    int n = snprintf(buf, size, "%s/%s.%s.%lld", dir, base, type, (long long)index);
    return n >= 0 && (size_t)n < size;
}

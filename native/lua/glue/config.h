/* Stub for Redis's config.h: only byte order is needed by sha1.c. */
#include <endian.h>

/*
 * store_tz: the time zone names PostgreSQL knows (pg_timezone_names), the
 * names a request's tz may take (API.md "Time zones").
 *
 * The view is costly (PostgreSQL walks its zone database: ~90 ms), so the
 * names are read once per process, by the first call that needs them,
 * and kept in a sorted array; each later lookup is a binary search in
 * memory, whatever the caller sends (no SQL, no file path ever built from
 * the input). A failed read is not kept: the next call reads again.
 *
 * Thread-safe: the rpc workers share the one array (the first read holds
 * a mutex; the others wait for it).
 */
#ifndef TVMAZE_STORE_TZ_H
#define TVMAZE_STORE_TZ_H

#include "db.h"

/* Longest name accepted (PostgreSQL 15's longest is 38 bytes); a longer
 * input is unknown without a lookup. */
#define STORE_TZ_MAX_NAME 64

/* Looks name up among pg_timezone_names, case-insensitively (as
 * PostgreSQL matches zone names), reading them through s on the process's
 * first call. STORE_OK with *canon the name as PostgreSQL spells it
 * ("europe/berlin" -> "Europe/Berlin"; storage that lives as long as the
 * process), or *canon NULL when there is no such zone; else the status of
 * the failed read, *canon NULL. */
enum store_status store_tz_lookup(struct store *s, const char *name, const char **canon);

#endif

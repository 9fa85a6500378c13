/*
 * migrations: the numbered SQL files of server/store/migrations/, embedded at
 * build time (cmake/EmbedMigrations.cmake) in version order.
 */
#ifndef TVMAZE_STORE_MIGRATIONS_H
#define TVMAZE_STORE_MIGRATIONS_H

#include <stddef.h>

struct store_migration {
  int version;      /* NNN of NNN_name.sql */
  const char *name; /* file name */
  const char *sql;  /* file contents */
};

extern const struct store_migration store_migrations[];
extern const size_t store_migrations_count;

#endif

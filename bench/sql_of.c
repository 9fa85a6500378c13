/*
 * tvmaze-sql-of NAME [FILTER...]: prints the SQL text tvmaze-server prepares
 * for statement NAME (shows_page, episodes_page, shows_episodes) with the
 * given filters set (country, distributor, rating, genre, q), so
 * bench/query.sh runs exactly the server's statement. Parameters: see
 * server/store/store_shows.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_shows.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: tvmaze-sql-of NAME [country|distributor|rating|genre|q ...]\n");
    return 2;
  }
  struct shows_filter f;
  memset(&f, 0, sizeof f);
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "country") == 0) {
      f.country = "US";
    } else if (strcmp(argv[i], "distributor") == 0) {
      f.distributor = "x";
    } else if (strcmp(argv[i], "rating") == 0) {
      f.has_rating = 1;
    } else if (strcmp(argv[i], "genre") == 0) {
      f.genre = "x";
    } else if (strcmp(argv[i], "q") == 0) {
      f.q = "x";
    } else {
      fprintf(stderr, "tvmaze-sql-of: unknown filter %s\n", argv[i]);
      return 2;
    }
  }
  char *sql = store_shows_sql(argv[1], &f);
  if (sql == NULL) {
    fprintf(stderr, "tvmaze-sql-of: unknown statement %s\n", argv[1]);
    return 2;
  }
  puts(sql);
  free(sql);
  return 0;
}

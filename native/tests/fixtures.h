/*
 * Berth runtime tests: fixtures the C test files share.
 */
#ifndef BERTH_TEST_FIXTURES_H
#define BERTH_TEST_FIXTURES_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "utils.h"

static inline int
fixture_remove_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void) st;
  (void) type;
  (void) ftw;
  return remove (path);
}

/* A scratch directory removed with everything in it when it goes out of scope.  */
static inline void
cleanup_tmpdirp (char **dir)
{
  if (*dir)
    {
      nftw (*dir, fixture_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
      free (*dir);
    }
}
#define cleanup_tmpdir __attribute__ ((cleanup (cleanup_tmpdirp)))

/* A new directory under $TMPDIR (or /tmp), or NULL.  */
static inline char *
make_tmpdir (void)
{
  const char *base = getenv ("TMPDIR");
  char *dir = xasprintf ("%s/berth-test-XXXXXX", base && *base ? base : "/tmp");

  if (mkdtemp (dir) == NULL)
    {
      free (dir);
      return NULL;
    }
  return dir;
}

#endif

/*
 * A tiny TAP harness for the C unit tests.
 *
 * A test is `static int test_x (void)` returning 0 (pass) or -1 (fail).
 * There is no skip: a missing prerequisite is a failure whose diagnostic
 * says how to install it (TAP_REQUIRE).  Usage:
 *
 *   static const struct tap_test tests[] = { TAP_TEST (test_x), ... };
 *   int main (void) { return tap_main (tests, TAP_COUNT (tests)); }
 *
 * Output (stdout): "1..N", then "ok N - name" or "not ok N - name" followed
 * by "# file:line: ..." lines naming the failed check (tap_diag lines of a
 * passing test are printed too).  tap_main returns 1 if any test failed.
 */
#ifndef BERTH_TAP_H
#define BERTH_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct tap_test
{
  const char *name;
  int (*fn) (void);
};

#define TAP_TEST(fn) { #fn, fn }
#define TAP_COUNT(tests) (sizeof (tests) / sizeof ((tests)[0]))

/* Diagnostics of the running test are kept here and printed after its
   "ok"/"not ok" line, so each result is followed by its own "# " lines.  */
static char tap_diag_buf_[16384];
static size_t tap_diag_len_;

static inline void tap_diag_at (const char *file, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Queue "# file:line: message"; newlines in message start new "# " lines.  */
static inline void
tap_diag_at (const char *file, int line, const char *fmt, ...)
{
  char msg[8192];
  const char *p, *nl;
  size_t room;
  va_list ap;
  int n;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof (msg), fmt, ap);
  va_end (ap);

  for (p = msg;; p = nl + 1)
    {
      nl = strchr (p, '\n');
      room = sizeof (tap_diag_buf_) - tap_diag_len_;
      if (p == msg)
        n = snprintf (tap_diag_buf_ + tap_diag_len_, room, "# %s:%d: %.*s\n", file, line,
                      nl ? (int) (nl - p) : (int) strlen (p), p);
      else
        n = snprintf (tap_diag_buf_ + tap_diag_len_, room, "#   %.*s\n",
                      nl ? (int) (nl - p) : (int) strlen (p), p);
      if (n < 0 || (size_t) n >= room)
        {
          tap_diag_len_ = sizeof (tap_diag_buf_) - 1; /* truncated */
          return;
        }
      tap_diag_len_ += (size_t) n;
      if (nl == NULL)
        break;
    }
}

#define tap_diag(...) tap_diag_at (__FILE__, __LINE__, __VA_ARGS__)

/* Fail the test with a message.  */
#define TAP_FAIL(...)          \
  do                           \
    {                          \
      tap_diag (__VA_ARGS__);  \
      return -1;               \
    }                          \
  while (0)

/* Fail the test unless expr is true.  */
#define TAP_CHECK(expr)                                                        \
  do                                                                           \
    {                                                                          \
      if (!(expr))                                                             \
        {                                                                      \
          tap_diag ("check failed: %s", #expr);     \
          return -1;                                                           \
        }                                                                      \
    }                                                                          \
  while (0)

#define TAP_CHECK_INT_EQ(actual, expected)                                              \
  do                                                                                    \
    {                                                                                   \
      long long tap_a_ = (long long) (actual), tap_e_ = (long long) (expected);         \
      if (tap_a_ != tap_e_)                                                             \
        {                                                                               \
          tap_diag ("check failed: %s == %s (got %lld, expected %lld)", #actual,          \
                    #expected, tap_a_, tap_e_);                                                              \
          return -1;                                                                    \
        }                                                                               \
    }                                                                                   \
  while (0)

#define TAP_CHECK_STR_EQ(actual, expected)                                                  \
  do                                                                                        \
    {                                                                                       \
      const char *tap_a_ = (actual), *tap_e_ = (expected);                                  \
      if (tap_a_ == NULL || tap_e_ == NULL || strcmp (tap_a_, tap_e_) != 0)                 \
        {                                                                                   \
          tap_diag ("check failed: %s == %s\ngot:      %s%s%s\nexpected: %s%s%s",           \
                    #actual, #expected,                                         tap_a_ ? "\"" : "",             \
                    tap_a_ ? tap_a_ : "NULL", tap_a_ ? "\"" : "", tap_e_ ? "\"" : "",       \
                    tap_e_ ? tap_e_ : "NULL", tap_e_ ? "\"" : "");                          \
          return -1;                                                                        \
        }                                                                                   \
    }                                                                                       \
  while (0)

/* A prerequisite that is missing fails the test and says how to get it.  */
#define TAP_REQUIRE(expr, install_cmd)                                                 \
  do                                                                                   \
    {                                                                                  \
      if (!(expr))                                                                     \
        {                                                                              \
          tap_diag ("missing prerequisite: %s\ninstall it with: %s", #expr, install_cmd); \
          return -1;                                                                   \
        }                                                                              \
    }                                                                                  \
  while (0)

static inline int
tap_main (const struct tap_test *tests, size_t count)
{
  size_t i;
  int failed = 0;

  printf ("1..%zu\n", count);
  fflush (stdout);
  for (i = 0; i < count; i++)
    {
      int ret;

      tap_diag_len_ = 0;
      ret = tests[i].fn ();

      if (ret == 0)
        printf ("ok %zu - %s\n", i + 1, tests[i].name);
      else
        {
          printf ("not ok %zu - %s\n", i + 1, tests[i].name);
          if (ret != -1)
            printf ("# returned %d: a test returns 0 (pass) or -1 (fail), nothing else\n", ret);
          failed++;
        }
      fwrite (tap_diag_buf_, 1, tap_diag_len_, stdout);
      fflush (stdout);
    }

  if (failed)
    printf ("# %d of %zu tests failed\n", failed, count);
  fflush (stdout);
  return failed ? 1 : 0;
}

#endif

/*
 * Leaks on purpose.  `make test-asan` runs it first and expects
 * LeakSanitizer to report the leak: if it does not, leak checking does not
 * work in this environment and the target fails instead of passing silently.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile leaked;

int
main (void)
{
  leaked = malloc (4242);
  if (leaked == NULL)
    return 1;
  memset (leaked, 1, 4242);
  leaked = NULL; /* lose the only reference */
  puts ("lsan canary: leaked 4242 bytes");
  return 0;
}

/*
 * Guest helper for test/kvm: edit a config.json in place with json-c (the guest has no
 * Node): edit-config FILE ARGS-JSON RESOURCES-JSON LINUX-EXTRA-JSON.  root becomes the
 * shared /guest/rootfs (writable); process.args becomes ARGS; RESOURCES' members are merged into linux.resources (devices are appended to the
 * defaults); LINUX-EXTRA's members are set on linux, except "userns": true, which adds a
 * user namespace.  Built by the test with the runtime's own flags.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static json_object *
parse (const char *what, const char *text)
{
  json_object *o = json_tokener_parse (text);
  if (o == NULL)
    fprintf (stderr, "edit-config: %s is not JSON: %s\n", what, text);
  return o;
}

int
main (int argc, char **argv)
{
  json_object *config, *args, *resources, *extra, *linux_, *res, *process;

  if (argc != 5)
    {
      fprintf (stderr, "usage: edit-config FILE ARGS RESOURCES LINUX-EXTRA\n");
      return 2;
    }
  config = json_object_from_file (argv[1]);
  args = parse ("ARGS", argv[2]);
  resources = parse ("RESOURCES", argv[3]);
  extra = parse ("LINUX-EXTRA", argv[4]);
  if (config == NULL || args == NULL || resources == NULL || extra == NULL)
    return 1;
  if (! json_object_object_get_ex (config, "process", &process) || ! json_object_object_get_ex (config, "linux", &linux_)
      || ! json_object_object_get_ex (linux_, "resources", &res))
    {
      fprintf (stderr, "edit-config: %s has no process, linux or linux.resources\n", argv[1]);
      return 1;
    }
  json_object *root = json_object_new_object ();
  json_object_object_add (root, "path", json_object_new_string ("/guest/rootfs"));
  json_object_object_add (root, "readonly", json_object_new_boolean (0));
  json_object_object_add (config, "root", root);
  json_object_object_add (process, "args", args);
  json_object_object_add (process, "terminal", json_object_new_boolean (0));
  json_object_object_foreach (resources, key, value)
  {
    json_object *devices;
    if (strcmp (key, "devices") == 0 && json_object_object_get_ex (res, "devices", &devices))
      {
        for (size_t i = 0; i < json_object_array_length (value); i++)
          json_object_array_add (devices, json_object_get (json_object_array_get_idx (value, i)));
        continue;
      }
    json_object_object_add (res, key, json_object_get (value));
  }
  json_object_object_foreach (extra, k2, v2)
  {
    if (strcmp (k2, "userns") == 0)
      {
        json_object *namespaces, *ns = json_object_new_object ();
        json_object_object_get_ex (linux_, "namespaces", &namespaces);
        json_object_object_add (ns, "type", json_object_new_string ("user"));
        json_object_array_add (namespaces, ns);
        continue;
      }
    json_object_object_add (linux_, k2, json_object_get (v2));
  }
  if (json_object_to_file_ext (argv[1], config, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) < 0)
    {
      fprintf (stderr, "edit-config: cannot write %s\n", argv[1]);
      return 1;
    }
  json_object_put (config);
  json_object_put (resources);
  json_object_put (extra);
  return 0;
}

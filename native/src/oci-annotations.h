/*
 * Berth runtime: config.json's `annotations`, and Berth's own settings carried in them
 * (the berth.* keys listed in oci-config.h), so a bundle Berth writes still runs under crun.
 */
#ifndef BERTH_OCI_ANNOTATIONS_H
#define BERTH_OCI_ANNOTATIONS_H

#include <json-c/json.h>

#include "error.h"
#include "oci-config.h"

/* Read the `annotations` object (NULL when absent) into c's annotation arrays, then
   Berth's own keys into c's fields, each checked: an error names the annotation and
   what it must be.  c's log limits hold their defaults on entry.  */
int berth_annotations_parse (json_object *annotations, struct berth_config *c, berth_error_t *err);

#endif

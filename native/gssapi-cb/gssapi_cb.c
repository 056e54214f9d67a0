/*
 * gssapi_cb: the two GSSAPI calls svcfleet needs and no npm binding offers — gss_init_sec_context and
 * gss_accept_sec_context WITH channel bindings (RFC 5929 tls-server-end-point, what Microsoft calls Extended
 * Protection for Authentication). Everything else Kerberos does in svcfleet (tickets, the `kerberos` package for
 * unbound contexts) stays where it is; this file is deliberately small.
 *
 * Node-API (C, ABI-stable), against MIT libgssapi_krb5. Each call runs on libuv's thread pool (a first
 * init_sec_context asks the KDC for a service ticket: network I/O) and returns a Promise. The security context
 * lives in a JS external whose finalizer deletes it; JS calls one step at a time per context.
 *
 *   initSecContext(ctx|null, target "service@host", flags, mech 0=krb5 1=spnego, input Buffer|null, appData Buffer|null)
 *     -> Promise<{ context, token: Buffer|null, complete: boolean, flags: number }>
 *   acceptSecContext(ctx|null, input Buffer, appData Buffer|null, service "service@host"|"")
 *     -> Promise<{ context, token: Buffer|null, complete: boolean, flags: number, principal: string }>
 *
 * A failure rejects with an Error carrying `major`, `minor` and `routine` (GSS_ROUTINE_ERROR(major) >> 16,
 * e.g. 4 = GSS_S_BAD_BINDINGS), and MIT's own status texts as the message.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

/* 1.2.840.113554.1.2.2 (Kerberos 5) and 1.3.6.1.5.5.2 (SPNEGO). */
static gss_OID_desc KRB5_OID = {9, "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};
static gss_OID_desc SPNEGO_OID = {6, "\x2b\x06\x01\x05\x05\x02"};

typedef struct {
  gss_ctx_id_t ctx;
} ctx_holder;

typedef struct {
  int accept;
  ctx_holder *holder;
  napi_ref holder_ref; /* keeps the external alive while the work runs */
  char *target;        /* init: service@host; accept: service@host or empty */
  OM_uint32 req_flags;
  int mech;
  unsigned char *input;
  size_t input_len;
  unsigned char *app_data;
  size_t app_data_len;
  int has_app_data;
  /* results */
  OM_uint32 major, minor, ret_flags;
  gss_buffer_desc output;
  char *principal;
  char *error;
  napi_deferred deferred;
  napi_async_work work;
} call_t;

static void holder_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  ctx_holder *h = data;
  OM_uint32 minor;
  if (h->ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &h->ctx, GSS_C_NO_BUFFER);
  free(h);
}

static void append_status(char *buf, size_t cap, OM_uint32 code, int type, gss_OID mech) {
  OM_uint32 minor, more = 0;
  gss_buffer_desc text;
  do {
    if (GSS_ERROR(gss_display_status(&minor, code, type, mech, &more, &text))) return;
    size_t used = strlen(buf);
    snprintf(buf + used, cap - used, "%s%.*s", used ? ": " : "", (int)text.length, (char *)text.value);
    gss_release_buffer(&minor, &text);
  } while (more);
}

static char *status_text(OM_uint32 major, OM_uint32 minor) {
  char *buf = calloc(1, 1024);
  if (!buf) return NULL;
  append_status(buf, 1024, major, GSS_C_GSS_CODE, GSS_C_NO_OID);
  if (minor) append_status(buf, 1024, minor, GSS_C_MECH_CODE, &KRB5_OID);
  return buf;
}

/* Runs on the thread pool: no napi calls here. */
static void execute(napi_env env, void *data) {
  (void)env;
  call_t *c = data;
  OM_uint32 minor = 0;
  gss_buffer_desc in = {c->input_len, c->input};
  struct gss_channel_bindings_struct cb;
  gss_channel_bindings_t bindings = GSS_C_NO_CHANNEL_BINDINGS;
  if (c->has_app_data) {
    /* RFC 5929 / Microsoft: no addresses, only application data "tls-server-end-point:" || hash. */
    memset(&cb, 0, sizeof cb);
    cb.initiator_addrtype = GSS_C_AF_UNSPEC;
    cb.acceptor_addrtype = GSS_C_AF_UNSPEC;
    cb.application_data.length = c->app_data_len;
    cb.application_data.value = c->app_data;
    bindings = &cb;
  }
  c->output.length = 0;
  c->output.value = NULL;
  if (!c->accept) {
    gss_name_t target = GSS_C_NO_NAME;
    gss_buffer_desc name = {strlen(c->target), c->target};
    c->major = gss_import_name(&c->minor, &name, GSS_C_NT_HOSTBASED_SERVICE, &target);
    if (!GSS_ERROR(c->major)) {
      c->major = gss_init_sec_context(&c->minor, GSS_C_NO_CREDENTIAL, &c->holder->ctx, target, c->mech ? &SPNEGO_OID : &KRB5_OID,
                                      c->req_flags, 0, bindings, c->input_len ? &in : GSS_C_NO_BUFFER, NULL, &c->output, &c->ret_flags, NULL);
    }
    if (target != GSS_C_NO_NAME) gss_release_name(&minor, &target);
  } else {
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gss_name_t src = GSS_C_NO_NAME;
    c->major = GSS_S_COMPLETE;
    if (c->target[0]) {
      gss_name_t service = GSS_C_NO_NAME;
      gss_buffer_desc name = {strlen(c->target), c->target};
      c->major = gss_import_name(&c->minor, &name, GSS_C_NT_HOSTBASED_SERVICE, &service);
      if (!GSS_ERROR(c->major))
        c->major = gss_acquire_cred(&c->minor, service, GSS_C_INDEFINITE, GSS_C_NO_OID_SET, GSS_C_ACCEPT, &cred, NULL, NULL);
      if (service != GSS_C_NO_NAME) gss_release_name(&minor, &service);
    }
    if (!GSS_ERROR(c->major)) {
      c->major = gss_accept_sec_context(&c->minor, &c->holder->ctx, cred, &in, bindings, &src, NULL, &c->output, &c->ret_flags, NULL, NULL);
    }
    if (!GSS_ERROR(c->major) && src != GSS_C_NO_NAME) {
      gss_buffer_desc shown;
      if (!GSS_ERROR(gss_display_name(&minor, src, &shown, NULL))) {
        c->principal = calloc(1, shown.length + 1);
        if (c->principal) memcpy(c->principal, shown.value, shown.length);
        gss_release_buffer(&minor, &shown);
      }
    }
    if (src != GSS_C_NO_NAME) gss_release_name(&minor, &src);
    if (cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &cred);
  }
  if (GSS_ERROR(c->major)) c->error = status_text(c->major, c->minor);
}

static void complete(napi_env env, napi_status status, void *data) {
  call_t *c = data;
  napi_value result, holder_value, v;
  OM_uint32 minor;
  napi_get_reference_value(env, c->holder_ref, &holder_value);
  if (status != napi_ok || GSS_ERROR(c->major)) {
    napi_value msg, err;
    napi_create_string_utf8(env, c->error ? c->error : "GSSAPI call failed", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_create_uint32(env, c->major, &v);
    napi_set_named_property(env, err, "major", v);
    napi_create_uint32(env, c->minor, &v);
    napi_set_named_property(env, err, "minor", v);
    napi_create_uint32(env, GSS_ROUTINE_ERROR(c->major) >> GSS_C_ROUTINE_ERROR_OFFSET, &v);
    napi_set_named_property(env, err, "routine", v);
    /* A failed context cannot be continued; MIT has already freed or will free it on delete. */
    napi_reject_deferred(env, c->deferred, err);
  } else {
    napi_create_object(env, &result);
    napi_set_named_property(env, result, "context", holder_value);
    if (c->output.length) {
      napi_create_buffer_copy(env, c->output.length, c->output.value, NULL, &v);
    } else {
      napi_get_null(env, &v);
    }
    napi_set_named_property(env, result, "token", v);
    napi_get_boolean(env, c->major == GSS_S_COMPLETE, &v);
    napi_set_named_property(env, result, "complete", v);
    napi_create_uint32(env, c->ret_flags, &v);
    napi_set_named_property(env, result, "flags", v);
    if (c->accept) {
      napi_create_string_utf8(env, c->principal ? c->principal : "", NAPI_AUTO_LENGTH, &v);
      napi_set_named_property(env, result, "principal", v);
    }
    napi_resolve_deferred(env, c->deferred, result);
  }
  if (c->output.length) gss_release_buffer(&minor, &c->output);
  napi_delete_reference(env, c->holder_ref);
  napi_delete_async_work(env, c->work);
  free(c->target);
  free(c->input);
  free(c->app_data);
  free(c->principal);
  free(c->error);
  free(c);
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

/* Copies an optional Buffer argument (null/undefined → absent). Returns 0 on a wrong type. */
static int copy_buffer(napi_env env, napi_value value, unsigned char **out, size_t *len, int *present) {
  napi_valuetype t;
  bool is_buffer = false;
  napi_typeof(env, value, &t);
  *out = NULL;
  *len = 0;
  if (present) *present = 0;
  if (t == napi_null || t == napi_undefined) return 1;
  napi_is_buffer(env, value, &is_buffer);
  if (!is_buffer) return 0;
  void *data;
  napi_get_buffer_info(env, value, &data, len);
  *out = malloc(*len ? *len : 1);
  if (!*out) return 0;
  if (*len) memcpy(*out, data, *len);
  if (present) *present = 1;
  return 1;
}

static char *copy_string(napi_env env, napi_value value) {
  size_t len;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, value, s, len + 1, &len);
  return s;
}

/* The context argument: an existing external, or null for a new context (a fresh external is made). */
static int get_holder(napi_env env, napi_value value, napi_value *holder_value, ctx_holder **holder) {
  napi_valuetype t;
  napi_typeof(env, value, &t);
  if (t == napi_external) {
    *holder_value = value;
    napi_get_value_external(env, value, (void **)holder);
    return 1;
  }
  if (t != napi_null && t != napi_undefined) return 0;
  *holder = calloc(1, sizeof(ctx_holder));
  if (!*holder) return 0;
  (*holder)->ctx = GSS_C_NO_CONTEXT;
  napi_create_external(env, *holder, holder_finalize, NULL, holder_value);
  return 1;
}

static napi_value start(napi_env env, call_t *c, napi_value holder_value) {
  napi_value promise, name;
  napi_create_reference(env, holder_value, 1, &c->holder_ref);
  napi_create_promise(env, &c->deferred, &promise);
  napi_create_string_utf8(env, c->accept ? "gss_accept_sec_context" : "gss_init_sec_context", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, c, &c->work);
  napi_queue_async_work(env, c->work);
  return promise;
}

static void free_call(call_t *c) {
  free(c->target);
  free(c->input);
  free(c->app_data);
  free(c);
}

static napi_value init_sec_context(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], holder_value;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6) return throw_type(env, "initSecContext(context, target, flags, mech, input, appData)");
  call_t *c = calloc(1, sizeof(call_t));
  if (!c) return throw_type(env, "out of memory");
  int32_t mech = 0;
  uint32_t flags = 0;
  c->target = copy_string(env, argv[1]);
  if (!c->target || napi_get_value_uint32(env, argv[2], &flags) != napi_ok || napi_get_value_int32(env, argv[3], &mech) != napi_ok ||
      !copy_buffer(env, argv[4], &c->input, &c->input_len, NULL) || !copy_buffer(env, argv[5], &c->app_data, &c->app_data_len, &c->has_app_data) ||
      !get_holder(env, argv[0], &holder_value, &c->holder)) {
    free_call(c);
    return throw_type(env, "initSecContext: context must be an external or null, target a string, flags and mech numbers, input and appData Buffers or null");
  }
  c->req_flags = flags;
  c->mech = mech;
  return start(env, c, holder_value);
}

static napi_value accept_sec_context(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], holder_value;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return throw_type(env, "acceptSecContext(context, input, appData, service)");
  call_t *c = calloc(1, sizeof(call_t));
  if (!c) return throw_type(env, "out of memory");
  c->accept = 1;
  c->target = copy_string(env, argv[3]);
  if (!c->target || !copy_buffer(env, argv[1], &c->input, &c->input_len, NULL) || c->input == NULL ||
      !copy_buffer(env, argv[2], &c->app_data, &c->app_data_len, &c->has_app_data) || !get_holder(env, argv[0], &holder_value, &c->holder)) {
    free_call(c);
    return throw_type(env, "acceptSecContext: context must be an external or null, input a Buffer, appData a Buffer or null, service a string");
  }
  return start(env, c, holder_value);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn, v;
  napi_create_function(env, "initSecContext", NAPI_AUTO_LENGTH, init_sec_context, NULL, &fn);
  napi_set_named_property(env, exports, "initSecContext", fn);
  napi_create_function(env, "acceptSecContext", NAPI_AUTO_LENGTH, accept_sec_context, NULL, &fn);
  napi_set_named_property(env, exports, "acceptSecContext", fn);
  /* The constants the JS side needs, from the headers rather than copied numbers. */
  napi_create_uint32(env, GSS_C_DELEG_FLAG, &v);
  napi_set_named_property(env, exports, "GSS_C_DELEG_FLAG", v);
  napi_create_uint32(env, GSS_C_MUTUAL_FLAG, &v);
  napi_set_named_property(env, exports, "GSS_C_MUTUAL_FLAG", v);
  napi_create_uint32(env, GSS_C_SEQUENCE_FLAG, &v);
  napi_set_named_property(env, exports, "GSS_C_SEQUENCE_FLAG", v);
  napi_create_uint32(env, GSS_C_CHANNEL_BOUND_FLAG, &v);
  napi_set_named_property(env, exports, "GSS_C_CHANNEL_BOUND_FLAG", v);
  napi_create_uint32(env, GSS_ROUTINE_ERROR(GSS_S_BAD_BINDINGS) >> GSS_C_ROUTINE_ERROR_OFFSET, &v);
  napi_set_named_property(env, exports, "ROUTINE_BAD_BINDINGS", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
